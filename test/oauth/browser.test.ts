import { test } from 'tap'
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { ADMIN, listen } from '../helper.js'
import { authorizePath, decodeJwt, pkce, registerPublic, tokenRequest } from './flow.js'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const SCREENSHOTS = resolve('.tap/screenshots/oauth-browser')

/** The client's side: a loopback page that receives the authorization response. */
async function callbackServer (): Promise<{ server: Server, url: string, received: URL[] }> {
  const received: URL[] = []
  const server = createServer((req, res) => {
    received.push(new URL(req.url ?? '/', 'http://127.0.0.1'))
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
    res.end('<!doctype html><html lang="en"><head><meta name="viewport" content="width=device-width, initial-scale=1"><title>Test client</title></head><body style="font-family:system-ui;padding:2rem"><h1>Test client</h1><p>Authorization response received.</p></body></html>')
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/callback`, received }
}

async function launch (): Promise<{ context: BrowserContext, close: () => Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), 'iam-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
    viewport: { width: 1024, height: 800 }
  })
  return {
    context,
    close: async () => {
      await context.close()
      rmSync(profile, { recursive: true, force: true })
    }
  }
}

async function shot (page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true })
}

test('a person signs in and consents in a real browser', async (t) => {
  if (!existsSync(CHROMIUM)) {
    if (process.env.CI === 'true') t.fail(`Chromium is missing at ${CHROMIUM}; CI must install it (apt-get install -y chromium)`)
    else t.skip(`Chromium not found at ${CHROMIUM}: skipping the browser test (apt-get install -y chromium, or set CHROMIUM_PATH)`, () => {})
    return
  }
  mkdirSync(SCREENSHOTS, { recursive: true })
  const { base } = await listen(t)
  const callback = await callbackServer()
  t.teardown(() => { callback.server.close() })
  const client = await registerPublic(base, callback.url, { client_name: 'Claude Desktop (test)' })
  const { verifier, challenge } = pkce()
  const path = authorizePath({
    response_type: 'code',
    client_id: client.client_id,
    redirect_uri: callback.url,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state: 'browser-state',
    scope: 'openid profile account:read user:read user:write organization:read',
    resource: `${base}/api/mcp`
  })

  const browser = await launch()
  t.teardown(browser.close)
  const page = await browser.context.newPage()
  const problems: string[] = []
  // The wrong password below is answered 401, which Chromium logs; anything else is a problem.
  page.on('console', msg => { if (msg.type() === 'error' && !msg.text().includes('status of 401')) problems.push(msg.text()) })
  page.on('pageerror', err => { problems.push(err.message) })

  // The login page.
  const response = await page.goto(`${base}${path}`)
  t.equal(response?.status(), 200)
  t.equal(await page.title(), 'Sign in – iam-mcp')
  t.equal(await page.locator('h1').textContent(), 'Sign in')
  t.match(await page.locator('.lead').textContent(), /Claude Desktop \(test\)/)
  t.equal(await page.evaluate('document.activeElement?.id'), 'username', 'the user name field has the focus')
  t.equal(await page.evaluate('getComputedStyle(document.querySelector("main")).maxWidth'), '480px', 'the stylesheet loaded under the CSP')
  await shot(page, '1-login')

  // A wrong password: the page says so without saying which field.
  await page.fill('#username', ADMIN.username)
  await page.fill('#password', 'wrong-password')
  await page.click('button[type=submit]')
  await page.waitForSelector('[role=alert]')
  t.equal(await page.locator('[role=alert]').textContent(), 'The user name, password or organization is not correct.')
  t.equal(await page.inputValue('#username'), ADMIN.username, 'the user name is kept')
  t.equal(await page.evaluate('document.activeElement?.id'), 'password', 'and the focus is on the password')
  await shot(page, '2-login-error')

  // Keyboard order: user name, password, organization, Sign in.
  await page.focus('#username')
  const order: string[] = []
  for (let i = 0; i < 3; i++) {
    await page.keyboard.press('Tab')
    order.push(await page.evaluate('document.activeElement?.id || document.activeElement?.textContent || ""') as string)
  }
  t.same(order, ['password', 'organization', 'Sign in'], 'focus order follows the form')

  await page.fill('#password', ADMIN.password)
  await Promise.all([page.waitForURL(/\/login\/oauth\/authorize\?/), page.click('button[type=submit]')])

  // The consent page: the client by name, each scope in plain words with its checkbox.
  t.match(await page.locator('h1').textContent(), /Allow Claude Desktop \(test\) to use your account\?/)
  const boxes = page.locator('input[name=scope]')
  t.equal(await boxes.count(), 6)
  t.match(await page.locator('main').textContent(), /Create, change and delete users and their profiles/)
  t.match(await page.locator('main').textContent(), /Signed in as Administrator \(built-in\/admin\)/)
  await shot(page, '3-consent')

  // Narrow, then allow.
  await page.uncheck('input[value="user:write"]')
  await Promise.all([page.waitForURL(url => url.href.startsWith(callback.url)), page.click('button[value=approve]')])
  await shot(page, '4-client-redirect')
  const landed = new URL(page.url())
  t.equal(landed.searchParams.get('state'), 'browser-state')
  t.equal(landed.searchParams.get('iss'), base)
  const code = landed.searchParams.get('code') as string
  t.ok(code, 'the client received a code')
  t.equal(callback.received.filter(u => u.pathname === '/callback').length, 1, 'one authorization response')

  const tokens = await tokenRequest(base, { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: callback.url, client_id: client.client_id })
  t.equal(tokens.status, 200)
  t.equal(tokens.body.scope, 'openid profile account:read organization:read user:read', 'what stayed ticked')
  t.equal(decodeJwt(tokens.body.access_token).aud, `${base}/api/mcp`)

  // The same pages on a phone-sized screen.
  const phone = await browser.context.newPage()
  await phone.setViewportSize({ width: 375, height: 740 })
  await phone.goto(`${base}${authorizePath({ response_type: 'code', client_id: client.client_id, redirect_uri: callback.url, code_challenge: challenge, code_challenge_method: 'S256', scope: 'user:read user:write role:write', prompt: 'consent' })}`)
  t.match(await phone.locator('h1').textContent(), /Allow/, 'the session skips the login')
  t.equal(await phone.evaluate('document.documentElement.scrollWidth <= window.innerWidth'), true, 'nothing overflows sideways')
  await shot(phone, '5-consent-phone')
  await phone.goto(`${base}/login/oauth/authorize?client_id=unknown-client&response_type=code`)
  t.match(await phone.locator('h1').textContent(), /Unknown application/)
  await shot(phone, '6-error-phone')
  const fresh = await launch()
  t.teardown(fresh.close)
  const loginPhone = await fresh.context.newPage()
  await loginPhone.setViewportSize({ width: 375, height: 740 })
  await loginPhone.goto(`${base}${path}`)
  t.equal(await loginPhone.evaluate('document.documentElement.scrollWidth <= window.innerWidth'), true)
  await shot(loginPhone, '7-login-phone')

  t.same(problems, [], 'no console errors and no CSP violations')
})
