/** The `settings` table, as Kysely sees it: values every instance shares. */
export interface SettingRow {
  key: string
  value: string
}
