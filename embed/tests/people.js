// What the browser tests share: unique names, a person who signs up in a
// browser context of their own, the API as that person, and a message's
// bubble by its text.
import { expect } from './fixtures.js'

export const uniq = (p) => `${p}${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`

export async function signup(browser, name, options = {}) {
  const context = await browser.newContext(options)
  const page = await context.newPage()
  await page.goto('/signup')
  await page.getByLabel('Username').fill(name)
  await page.getByLabel('Password').fill('a good password')
  await page.getByRole('button', { name: 'Sign up' }).click()
  await expect(page.getByRole('button', { name: 'New chat' })).toBeVisible()
  return { context, page }
}

export const api = (page, method, path, data) => page.request.fetch('/api/v1' + path, { method, data }).then((r) => r.json())

export const bubble = (page, text) => page.getByTestId('message').filter({ hasText: text })
