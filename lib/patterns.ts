/**
 * Organization, application, role and permission names: they appear in ids (`owner/name`) and,
 * for applications, in URLs — a plain slug, no `/`, no `..`. Shared by the tools' arguments
 * and the routes that take such a name from a URL.
 */
export const SLUG_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'
