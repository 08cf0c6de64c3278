// Every browser test fails on a console error or an uncaught exception in
// any page it opens: a bug of that class cannot pass unnoticed. Answers of
// the API that the UI handles (a 401 before login, a 404 for a stranger, a
// 409 for a duplicate) are logged by Chromium as failed resources; those
// are expected, and the UI shows them as it should; so are the browser's
// own lines for a WebSocket it could not open, or a request (a /sync just
// after a hello) cut off, while a test has taken the network away (the UI
// reconnects and syncs again), and Chromium's line that a test
// browser (a fresh profile, like incognito) has no Push API: the UI then
// keeps to in-page notifications.
import { test as base, expect } from '@playwright/test'

const expected = [
  /^Failed to load resource: the server responded with a status of 4\d\d/,
  /^WebSocket connection to '.*' failed: .*ERR_INTERNET_DISCONNECTED/,
  /^Failed to load resource: net::ERR_INTERNET_DISCONNECTED$/,
  /^Chrome currently does not support the Push API in incognito mode/,
]

export const test = base.extend({
  consoleErrors: [
    async ({ browser, context }, use) => {
      const errors = []
      const watch = (page) => {
        page.on('console', (m) => {
          if (m.type() === 'error' && !expected.some((re) => re.test(m.text()))) errors.push(`${page.url()}: ${m.text()}`)
        })
        page.on('pageerror', (e) => errors.push(`${page.url()}: ${e.message}`))
      }
      const watchContext = (ctx) => {
        ctx.on('page', watch)
        ctx.pages().forEach(watch)
      }
      watchContext(context)
      const newContext = browser.newContext.bind(browser)
      browser.newContext = async (...args) => {
        const ctx = await newContext(...args)
        watchContext(ctx)
        return ctx
      }
      await use(errors)
      browser.newContext = newContext
      expect(errors, 'console errors and page errors').toEqual([])
    },
    { auto: true },
  ],
})

export { expect }
