import { test, expect } from './fixtures.js'

const uniq = () => `u${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`

test('sign up, log out and log back in', async ({ page }) => {
  const name = uniq()
  await page.goto('/')
  await expect(page).toHaveURL(/\/login/)
  await page.getByRole('link', { name: 'Create an account' }).click()

  // form errors come from the API, next to the field at fault
  await page.getByLabel('Username').fill('x')
  await page.getByLabel('Password').fill('longenough')
  await page.getByRole('button', { name: 'Sign up' }).click()
  await expect(page.getByRole('alert')).toContainText('3 to 32 characters')

  await page.getByLabel('Username').fill(name)
  await page.getByLabel('Display name (optional)').fill('Test Person')
  await page.getByLabel('Password').fill('short')
  await page.getByRole('button', { name: 'Sign up' }).click()
  await expect(page.getByRole('alert')).toContainText('8 to 256 characters')

  await page.getByLabel('Password').fill('a good password')
  await page.getByRole('button', { name: 'Sign up' }).click()
  await expect(page.getByText('No conversations yet')).toBeVisible()
  await expect(page.getByRole('link', { name: 'Your profile' })).toContainText('Test Person')

  // a reload keeps the session (the HttpOnly cookie)
  await page.reload()
  await expect(page.getByText('No conversations yet')).toBeVisible()

  await page.getByRole('button', { name: 'Log out' }).click()
  await expect(page).toHaveURL(/\/login/)
  await page.goto('/profile')
  await expect(page).toHaveURL(/\/login\?next=(%2F|\/)profile$/)

  await page.getByLabel('Username').fill(name)
  await page.getByLabel('Password').fill('wrong password')
  await page.getByRole('button', { name: 'Log in' }).click()
  await expect(page.getByRole('alert')).toContainText('Wrong username or password')

  await page.getByLabel('Password').fill('a good password')
  await page.getByRole('button', { name: 'Log in' }).click()
  // back where the login began
  await expect(page).toHaveURL(/\/profile$/)
  await expect(page.getByRole('heading', { name: 'Profile' })).toBeVisible()
})

test('profile: change display name and password', async ({ page }) => {
  const name = uniq()
  await page.goto('/signup')
  await page.getByLabel('Username').fill(name)
  await page.getByLabel('Password').fill('first password')
  await page.getByRole('button', { name: 'Sign up' }).click()
  await expect(page.getByText('No conversations yet')).toBeVisible()

  await page.getByRole('link', { name: 'Your profile' }).click()
  await page.getByRole('textbox', { name: 'Display name' }).fill('')
  await page.getByRole('button', { name: 'Save name' }).click()
  await expect(page.getByRole('alert')).toContainText('1 to 64 characters')
  await page.getByRole('textbox', { name: 'Display name' }).fill('Renamed')
  await page.getByRole('button', { name: 'Save name' }).click()
  await expect(page.getByRole('status')).toHaveText('Saved.')
  await expect(page.getByRole('link', { name: 'Your profile' })).toContainText('Renamed')

  await page.getByLabel('Current password').fill('not it at all')
  await page.getByLabel('New password').fill('second password')
  await page.getByRole('button', { name: 'Change password' }).click()
  await expect(page.getByRole('alert')).toContainText('current password is wrong')
  await page.getByLabel('Current password').fill('first password')
  await page.getByRole('button', { name: 'Change password' }).click()
  await expect(page.getByRole('status').filter({ hasText: 'Password changed.' })).toBeVisible()

  await page.getByRole('button', { name: 'Log out' }).click()
  // the login form, not the profile page it replaces, gets the typing
  await expect(page).toHaveURL(/\/login/)
  await expect(page.getByRole('heading', { name: 'Log in' })).toBeVisible()
  await page.getByLabel('Username').fill(name)
  await page.getByLabel('Password').fill('second password')
  await page.getByRole('button', { name: 'Log in' }).click()
  await expect(page.getByText('No conversations yet')).toBeVisible()
})

test('phone width: nothing scrolls sideways', async ({ page }) => {
  await page.setViewportSize({ width: 360, height: 740 })
  await page.goto('/signup')
  await page.getByLabel('Username').fill(uniq())
  await page.getByLabel('Password').fill('a good password')
  await page.getByRole('button', { name: 'Sign up' }).click()
  await expect(page.getByText('No conversations yet')).toBeVisible()
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)
  expect(overflow).toBeLessThanOrEqual(0)
})
