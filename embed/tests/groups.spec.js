import { test, expect } from './fixtures.js'

// An owner runs a group: creates it and an invite; a second user joins
// through the link; both chat in a new channel; the owner removes the
// member, and the member's UI shows it at once.

const uniq = (p) => `${p}${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`

async function signup(browser, name, path = '/signup') {
  const context = await browser.newContext()
  await context.grantPermissions(['clipboard-read', 'clipboard-write'])
  const page = await context.newPage()
  await page.goto(path)
  if (path !== '/signup') await page.getByRole('link', { name: 'Create an account' }).click()
  await page.getByLabel('Username').fill(name)
  await page.getByLabel('Password').fill('a good password')
  await page.getByRole('button', { name: 'Sign up' }).click()
  return { context, page }
}

test('a group with an invite, a channel, roles and a removal', async ({ browser }) => {
  test.setTimeout(120_000)
  const ownerName = uniq('owner')
  const memberName = uniq('member')
  const owner = await signup(browser, ownerName)
  const o = owner.page
  await expect(o.getByRole('button', { name: 'New chat' })).toBeVisible()

  // create the group: it starts with #general
  await o.getByRole('button', { name: 'Create group' }).click()
  await o.getByLabel('Group name').fill('Rocket Team')
  await o.getByRole('button', { name: 'Create', exact: true }).click()
  await expect(o).toHaveURL(/\/g\/\d+\/c\/\d+$/)
  await expect(o.getByRole('heading', { name: '# general' })).toBeVisible()
  const groupUrl = o.url().replace(/\/c\/\d+$/, '')

  // an invite link, copied
  await o.getByRole('link', { name: 'Group', exact: true }).click()
  await expect(o).toHaveURL(groupUrl)
  await o.getByLabel('Uses').selectOption('5')
  await o.getByRole('button', { name: 'Invite people' }).click()
  const link = await o.getByLabel('Invite link').inputValue()
  expect(link).toMatch(/\/invite\/[A-Za-z0-9_-]{22,}$/)
  await expect(o.getByRole('status').filter({ hasText: 'Copied' })).toBeVisible()

  // the owner makes a channel
  await o.getByLabel('New channel').fill('launch plans')
  await o.getByRole('button', { name: 'Create channel' }).click()
  await expect(o.getByRole('link', { name: '# launch-plans' }).first()).toBeVisible()
  // a duplicate name is a clear error
  await o.getByLabel('New channel').fill('launch-plans')
  await o.getByRole('button', { name: 'Create channel' }).click()
  await expect(o.getByRole('alert').filter({ hasText: 'already has a channel' })).toBeVisible()

  // the second user opens the link logged out: login first, then back to the invite
  const invitePath = new URL(link).pathname
  const member = await signup(browser, memberName, invitePath)
  const m = member.page
  await expect(m.getByText('Rocket Team')).toBeVisible()
  await expect(m.getByText('1 member')).toBeVisible()
  await m.getByRole('button', { name: 'Join' }).click()
  await expect(m.getByRole('heading', { name: '# general' })).toBeVisible()
  // members do not see admin controls
  await m.getByRole('link', { name: 'Group', exact: true }).click()
  await expect(m.getByRole('heading', { name: 'Members' })).toBeVisible()
  await expect(m.getByRole('button', { name: 'Invite people' })).toHaveCount(0)
  await expect(m.getByRole('button', { name: 'Create channel' })).toHaveCount(0)
  await expect(m.getByRole('button', { name: 'Leave group' })).toBeVisible()

  // both chat in the new channel; the owner sees "read by 1 of 1"
  await o.getByRole('link', { name: '# launch-plans' }).first().click()
  await expect(o.getByRole('heading', { name: '# launch-plans' })).toBeVisible()
  await o.getByRole('textbox', { name: 'Message' }).fill('T-minus 10 days')
  await o.keyboard.press('Enter')
  await expect(o.getByTestId('read-by').last()).toHaveText('read by 0 of 1')
  const channelLink = m.getByRole('list', { name: 'Channels of Rocket Team' }).getByRole('link', { name: /# launch-plans/ })
  await expect(channelLink.getByTestId('unread')).toHaveText('1')
  await channelLink.click()
  await expect(m.getByTestId('message').last()).toContainText('T-minus 10 days')
  await expect(o.getByTestId('read-by').last()).toHaveText('read by 1 of 1')
  await m.getByRole('textbox', { name: 'Message' }).fill('Roger that')
  await m.keyboard.press('Enter')
  // the owner sees the sender's name on the member's message
  await expect(o.getByTestId('message').last()).toContainText('Roger that')
  await expect(o.getByTestId('message').last()).toContainText(memberName)

  // the owner makes the member an admin, then removes them
  await o.goto(groupUrl)
  await o.getByRole('button', { name: `Make ${memberName} an admin` }).click()
  await expect(o.getByRole('button', { name: `Remove admin role of ${memberName}` })).toBeVisible()
  await o.getByRole('button', { name: `Remove ${memberName}`, exact: true }).click()
  await o.getByRole('dialog').getByRole('button', { name: 'Remove' }).click()
  await expect(o.getByRole('list', { name: 'Members' }).getByText(memberName)).toHaveCount(0)

  // the member's open channel shows it at once, and the group is gone from the sidebar
  await expect(m.getByText('You are no longer in this conversation.')).toBeVisible()
  await expect(m.getByRole('link', { name: 'Rocket Team' })).toHaveCount(0)
  await expect(m.getByRole('textbox', { name: 'Message' })).toHaveCount(0)

  // the invite still works for them again (5 uses)
  await m.goto(invitePath)
  await m.getByRole('button', { name: 'Join' }).click()
  await expect(m.getByRole('heading', { name: '# general' })).toBeVisible()

  await owner.context.close()
  await member.context.close()
})

test('a revoked or unknown invite says so', async ({ browser }) => {
  const u = await signup(browser, uniq('lost'))
  await expect(u.page.getByRole('button', { name: 'New chat' })).toBeVisible()
  await u.page.goto('/invite/not-a-real-code')
  await expect(u.page.getByRole('alert')).toContainText('not valid')
  await u.context.close()
})
