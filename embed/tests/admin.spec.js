import { execFileSync } from 'node:child_process'
import { test, expect } from './fixtures.js'
import { uniq, signup, api, bubble } from './people.js'

// Integrations and administration in the browser: a channel's webhook made
// in the UI posts with the curl line it shows; a member reports a message,
// and a site admin deactivates its sender from the report, which logs the
// sender's open browser out at once.

test('a channel admin makes a webhook, and its curl line posts as its bot', async ({ browser }) => {
  const owner = await signup(browser, uniq('ops'))
  const p = owner.page
  const { group } = await api(p, 'POST', '/groups', { name: uniq('Ops') })
  await p.goto(`/g/${group.id}`)
  await p.getByRole('button', { name: 'Webhooks of #general' }).click()
  const dialog = p.getByRole('dialog', { name: 'Webhooks of #general' })
  await expect(dialog.getByText('No webhooks yet.')).toBeVisible()
  await dialog.getByLabel('New webhook').fill('CI')
  await dialog.getByRole('button', { name: 'Create webhook' }).click()
  await expect(dialog.getByRole('list', { name: 'Webhooks' }).getByText('CI', { exact: true })).toBeVisible()
  const line = await dialog.getByTestId('curl').textContent()
  expect(line).toMatch(/^curl -X POST .* 'http:\/\/127\.0\.0\.1:\d+\/hooks\/[\w-]{22,}'$/)
  // run it as a script would (the shell's quoting, by hand)
  const args = line.match(/'[^']*'|\S+/g).slice(1).map((a) => a.replace(/^'|'$/g, ''))
  expect(execFileSync('curl', ['-sS', ...args]).toString()).toBe('ok')
  await dialog.getByRole('button', { name: 'Close' }).click()
  await p.goto(`/g/${group.id}/c/${group.channels[0].id}`)
  const post = bubble(p, 'Hello from a script')
  await expect(post).toBeVisible()
  await expect(post.getByText(/^CI/)).toBeVisible()
  await expect(post.getByTestId('bot-badge')).toBeVisible()
  // deleted: the URL stops at once
  await p.goto(`/g/${group.id}`)
  await p.getByRole('button', { name: 'Webhooks of #general' }).click()
  await dialog.getByRole('button', { name: 'Delete CI' }).click()
  await dialog.getByRole('button', { name: 'Confirm deleting CI' }).click()
  await expect(dialog.getByText('No webhooks yet.')).toBeVisible()
  expect(execFileSync('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', ...args]).toString()).toBe('404')
  await owner.context.close()
})

test('a report reaches the site admin, who deactivates the sender: their browser is logged out at once', async ({ browser }) => {
  test.setTimeout(60_000)
  const spammerName = uniq('spam')
  const spammer = await signup(browser, spammerName)
  const victim = await signup(browser, uniq('vic'))
  const { user: victimUser } = await api(victim.page, 'GET', '/me')
  const { conversation } = await api(spammer.page, 'POST', '/direct', { user_id: victimUser.id })
  await api(spammer.page, 'POST', `/conversations/${conversation.id}/messages`, { client_id: uniq('c'), body: 'cheap pills here' })
  await spammer.page.goto(`/c/${conversation.id}`)

  // the victim reports it
  const v = victim.page
  await v.goto(`/c/${conversation.id}`)
  await bubble(v, 'cheap pills here').hover()
  await bubble(v, 'cheap pills here').getByRole('button', { name: 'Report' }).click()
  const report = v.getByRole('dialog', { name: 'Report message' })
  await report.getByLabel('Reason').fill('spam')
  await report.getByRole('button', { name: 'Report' }).click()
  await expect(report.getByRole('status')).toHaveText(/admins will look at it/)
  await report.getByRole('button', { name: 'Done' }).click()
  // a member has no admin section
  await expect(v.getByRole('link', { name: 'Administration' })).toHaveCount(0)
  await v.goto('/admin')
  await expect(v).toHaveURL(/\/$/)

  // the site admin
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  const a = await context.newPage()
  await a.goto('/login')
  await a.getByLabel('Username').fill('siteadmin')
  await a.getByLabel('Password').fill('site admin password')
  await a.getByRole('button', { name: 'Log in' }).click()
  await a.getByRole('link', { name: 'Administration' }).click()
  await a.getByRole('link', { name: 'Reports' }).click()
  const card = a.getByTestId('report').filter({ hasText: 'Reason: spam' })
  await expect(card.getByText('Reason: spam')).toBeVisible()
  await card.getByRole('button', { name: 'Deactivate sender' }).click()
  await a.getByRole('dialog').getByRole('button', { name: 'Deactivate' }).click()
  // the spammer's open page is logged out, and cannot log back in
  await expect(spammer.page).toHaveURL(/\/login/)
  await spammer.page.getByLabel('Username').fill(spammerName)
  await spammer.page.getByLabel('Password').fill('a good password')
  await spammer.page.getByRole('button', { name: 'Log in' }).click()
  await expect(spammer.page.getByRole('alert')).toContainText('deactivated')
  // the message goes too, and the report is resolved
  await card.getByRole('button', { name: 'Delete message' }).click()
  await a.getByRole('dialog').getByRole('button', { name: 'Delete' }).click()
  await expect(card.getByText('This message was deleted')).toBeVisible()
  await expect(bubble(v, 'cheap pills here')).toHaveCount(0)
  await card.getByRole('button', { name: 'Resolve' }).click()
  await expect(card).toHaveCount(0)

  // users: the spammer is deactivated; reactivate
  await a.getByRole('link', { name: 'Users' }).click()
  await a.getByLabel('Search users').fill(spammerName)
  const row = a.getByRole('listitem', { name: spammerName })
  await expect(row.getByText('deactivated')).toBeVisible()
  await row.getByRole('button', { name: `Reactivate ${spammerName}` }).click()
  await expect(row.getByText('deactivated')).toHaveCount(0)
  // the audit log and the server's facts
  await a.getByRole('link', { name: 'Audit log' }).click()
  await expect(a.getByTestId('audit-entry').filter({ hasText: 'user.deactivate' }).first()).toBeVisible()
  await expect(a.getByTestId('audit-entry').filter({ hasText: 'auth.login_failed' }).first()).toBeVisible()
  await a.getByRole('link', { name: 'Server' }).click()
  await expect(a.getByText('single node')).toBeVisible()
  await context.close()
  await spammer.context.close()
  await victim.context.close()
})

test('the API reference renders the server\'s OpenAPI document, signed in or not', async ({ page }) => {
  await page.goto('/api-docs')
  await expect(page.getByRole('heading', { name: /^Parley API/ })).toBeVisible()
  await expect(page.getByTestId('operation').first()).toBeVisible()
  const count = await page.getByTestId('operation').count()
  expect(count).toBeGreaterThan(60)
  await page.getByLabel('Filter operations').fill('webhook')
  const op = page.getByTestId('operation').filter({ hasText: 'Make an incoming webhook for a channel' })
  await expect(op).toHaveCount(1)
  await op.locator('summary').click()
  await expect(op.getByText('Answers')).toBeVisible()
  await op.getByRole('link', { name: 'Webhook' }).click()
  await expect(page.locator('#schema-Webhook')).toBeInViewport()
  await expect(page.getByTestId('schema').filter({ hasText: 'FrameMessage' })).toHaveCount(1)
})
