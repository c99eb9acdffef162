import { INTERNALS, type HttpAnswer } from './process.js'

/** Nothing internal in an answer, once the caller's own input is taken out of it. */
export function leaks (res: HttpAnswer, ...echoed: string[]): boolean {
  let text = res.text
  for (const e of echoed) {
    for (const form of [e, JSON.stringify(e).slice(1, -1)]) if (form !== '') text = text.split(form).join('')
  }
  return INTERNALS.test(text)
}

/** Strings an attacker puts in fields: SQL, markup, template and path fragments, odd code points. */
export const HOSTILE = [
  "'; DROP TABLE users; --",
  "' OR '1'='1",
  '" OR ""="',
  "admin'--",
  "1; SELECT * FROM applications WHERE '1'='1",
  "' UNION SELECT password_hash, name FROM users --",
  '%_%',
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(document.cookie)>',
  '../../../../etc/passwd',
  '..\\..\\windows\\win.ini',
  '$' + '{jndi:ldap://127.0.0.1/a} {{7*7}} #{7*7}',
  'a\u0000b',
  '\u202egnp.exe',
  '😀𝔘𝔫𝔦𝔠𝔬𝔡𝔢\uFEFF'
]
