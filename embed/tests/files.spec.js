import http from 'node:http'
import zlib from 'node:zlib'
import { test, expect } from './fixtures.js'
import { uniq, signup, api, bubble } from './people.js'

// Two people share images, files and links: an image by the button and one
// by paste, seen as thumbnails and in the lightbox in the other browser; a
// PDF downloaded; a failed upload retried without a second message; an
// upload canceled; a link's preview card, taken off by its sender.

// png makes a w×h PNG of one colour, with no library.
function png(w, h, [r, g, b]) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    return c >>> 0
  })
  const crc = (buf) => {
    let c = 0xffffffff
    for (const x of buf) c = crcTable[(c ^ x) & 0xff] ^ (c >>> 8)
    return (c ^ 0xffffffff) >>> 0
  }
  const chunk = (type, data) => {
    const len = Buffer.alloc(4)
    len.writeUInt32BE(data.length)
    const td = Buffer.concat([Buffer.from(type), data])
    const c = Buffer.alloc(4)
    c.writeUInt32BE(crc(td))
    return Buffer.concat([len, td, c])
  }
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(w, 0)
  ihdr.writeUInt32BE(h, 4)
  ihdr[8] = 8 // bit depth
  ihdr[9] = 2 // truecolour
  const row = Buffer.alloc(1 + w * 3)
  for (let x = 0; x < w; x++) row.set([r, g, b], 1 + x * 3)
  const raw = Buffer.concat(Array.from({ length: h }, () => row))
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ])
}

const PDF = Buffer.from('%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n')

async function chat(browser) {
  const alice = await signup(browser, uniq('alice'))
  const bob = await signup(browser, uniq('bob'))
  const a = alice.page
  const b = bob.page
  const { user: bobUser } = await api(b, 'GET', '/me')
  const { conversation } = await api(a, 'POST', '/direct', { user_id: bobUser.id })
  await a.goto(`/c/${conversation.id}`)
  await b.goto(`/c/${conversation.id}`)
  return { a, b, conversation }
}

test('images by the button and by paste, a PDF, a retried and a canceled upload', async ({ browser }) => {
  test.setTimeout(90_000)
  const { a, b } = await chat(browser)
  const composer = a.getByRole('textbox', { name: 'Message' })

  // by the button: the file waits in the composer, goes with the text
  await a.getByTestId('file-input').setInputFiles({ name: 'sunset.png', mimeType: 'image/png', buffer: png(900, 600, [240, 120, 30]) })
  await expect(a.getByTestId('attached')).toContainText('sunset.png')
  await composer.fill('the view from here')
  await composer.press('Enter')
  await expect(a.getByTestId('attached')).toHaveCount(0)
  const first = bubble(b, 'the view from here')
  const thumb = first.getByTestId('image-thumb')
  await expect(thumb.locator('img')).toHaveJSProperty('complete', true)
  await expect.poll(() => thumb.locator('img').evaluate((i) => i.naturalWidth)).toBeGreaterThan(0)
  // the thumbnail comes (at most 400 px), then the lightbox shows the full image
  await expect(thumb.locator('img')).toHaveAttribute('src', /\/api\/v1\/thumbnails\//)
  await thumb.click()
  const box = b.getByTestId('lightbox')
  await expect(box).toBeVisible()
  await expect(box).toContainText('sunset.png')
  await expect(box).toContainText('900×600')
  await expect.poll(() => b.getByTestId('lightbox-image').evaluate((i) => i.naturalWidth)).toBe(900)
  await b.keyboard.press('Escape')
  await expect(box).toHaveCount(0)

  // by paste: an image on the clipboard goes into the composer
  const pasted = png(300, 300, [20, 160, 90]).toString('base64')
  await composer.focus()
  await a.evaluate((b64) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))
    const dt = new DataTransfer()
    dt.items.add(new File([bytes], 'image.png', { type: 'image/png' }))
    document.activeElement.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }))
  }, pasted)
  await expect(a.getByTestId('attached')).toContainText('image.png')
  await composer.press('Enter') // a file alone is a message
  await expect(b.getByTestId('message').last().getByTestId('image-thumb')).toBeVisible()
  // the list says what a file-only message carries
  await expect(a.locator('a[aria-current="page"]')).toContainText('You: Photo')

  // a file dropped onto the conversation joins one picked by the button
  const drag = (type) => a.evaluate((type) => {
    const dt = (window.__dt ||= new DataTransfer())
    if (!dt.items.length) dt.items.add(new File(['dropped text\n'], 'dropped.txt', { type: 'text/plain' }))
    document.querySelector('[aria-label="Messages"]').dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }))
  }, type)
  await drag('dragenter')
  await expect(a.getByText('Drop files to attach them')).toBeVisible()
  await drag('drop')
  await expect(a.getByText('Drop files to attach them')).toHaveCount(0)
  await expect(a.getByTestId('attached')).toContainText('dropped.txt')
  // a PDF is a card with a download
  await a.getByTestId('file-input').setInputFiles({ name: 'report.pdf', mimeType: 'application/pdf', buffer: PDF })
  await expect(a.getByTestId('attached')).toHaveCount(2)
  await composer.fill('the report')
  await composer.press('Enter')
  await expect(bubble(b, 'the report').getByTestId('file-card')).toHaveCount(2)
  await expect(bubble(b, 'the report').getByTestId('file-card').first()).toContainText('dropped.txt')
  const card = bubble(b, 'the report').getByTestId('file-card').filter({ hasText: 'report.pdf' })
  await expect(card).toContainText('report.pdf')
  await expect(card).toContainText(`${PDF.length} B`)
  const [download] = await Promise.all([b.waitForEvent('download'), card.getByRole('link', { name: 'Download report.pdf' }).click()])
  expect(download.suggestedFilename()).toBe('report.pdf')
  const chunks = []
  for await (const c of await download.createReadStream()) chunks.push(c)
  expect(Buffer.concat(chunks).equals(PDF)).toBe(true)

  // an upload that fails is retried: one message, not two
  let refused = 0
  await a.route('**/api/v1/uploads', (route) => {
    refused++
    return route.fulfill({ status: 429, contentType: 'application/json', headers: { 'Retry-After': '1' },
      body: JSON.stringify({ error: { code: 'rate_limited', message: 'Too many uploads; try again in a moment.' } }) })
  })
  await a.getByTestId('file-input').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('line one\nline two\n') })
  await composer.fill('my notes')
  await composer.press('Enter')
  const failed = bubble(a, 'my notes')
  await expect(failed.getByRole('alert')).toContainText('Not sent')
  expect(refused).toBe(1)
  await a.unroute('**/api/v1/uploads')
  await failed.getByRole('button', { name: 'Retry' }).click()
  await expect(bubble(b, 'my notes').getByTestId('file-card')).toContainText('notes.txt')
  await expect(bubble(a, 'my notes')).toHaveCount(1)
  await expect(bubble(b, 'my notes')).toHaveCount(1)

  // one that cannot go is discarded: it leaves the list and is never sent
  await a.route('**/api/v1/uploads', (route) => route.fulfill({ status: 413, contentType: 'application/json',
    body: JSON.stringify({ error: { code: 'too_large', message: 'A file is at most 1 MiB.' } }) }))
  await a.getByTestId('file-input').setInputFiles({ name: 'big.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(1024, 1) })
  await composer.fill('too big to go')
  await composer.press('Enter')
  await expect(bubble(a, 'too big to go').getByRole('alert')).toContainText('A file is at most 1 MiB.')
  await bubble(a, 'too big to go').getByRole('button', { name: 'Discard' }).click()
  await expect(bubble(a, 'too big to go')).toHaveCount(0)
  await a.unroute('**/api/v1/uploads')

  // an upload canceled while it is under way: the message goes without it
  let release
  const held = new Promise((r) => (release = r))
  await a.route('**/api/v1/uploads', async (route) => {
    await held
    await route.continue().catch(() => {})
  })
  await a.getByTestId('file-input').setInputFiles({ name: 'huge.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(64 << 10, 7) })
  await composer.fill('changed my mind')
  await composer.press('Enter')
  const sending = bubble(a, 'changed my mind')
  await sending.getByRole('button', { name: 'Cancel huge.bin' }).click()
  release()
  const sent = bubble(b, 'changed my mind')
  await expect(sent).toBeVisible()
  await expect(sent.getByTestId('file-card')).toHaveCount(0)
  await a.unroute('**/api/v1/uploads')
})

test('a link gets a preview card, and its sender can take it off', async ({ browser }) => {
  test.setTimeout(60_000)
  let hits = 0
  const site = http.createServer((req, res) => {
    if (req.url === '/release') {
      hits++
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' })
      res.end(`<!doctype html><html><head><title>fallback</title>
<meta property="og:title" content="Parley 2.0 released">
<meta property="og:description" content="Files, previews and more.">
<meta property="og:site_name" content="Parley News">
<meta property="og:image" content="/card.png"></head><body>hello</body></html>`)
    } else if (req.url === '/card.png') {
      res.writeHead(200, { 'Content-Type': 'image/png' })
      res.end(png(600, 315, [60, 60, 200]))
    } else {
      res.writeHead(404)
      res.end()
    }
  })
  await new Promise((r) => site.listen(0, '127.0.0.1', r))
  const link = `http://127.0.0.1:${site.address().port}/release`
  try {
    const { a, b } = await chat(browser)
    const composer = a.getByRole('textbox', { name: 'Message' })
    await composer.fill(`have you seen ${link} ?`)
    await composer.press('Enter')
    const card = bubble(b, 'have you seen').getByTestId('link-preview')
    await expect(card).toContainText('Parley 2.0 released')
    await expect(card).toContainText('Files, previews and more.')
    await expect(card).toContainText('Parley News')
    await expect(card.getByRole('link', { name: 'Parley 2.0 released' })).toHaveAttribute('href', link)
    const img = card.locator('img')
    await expect(img).toHaveAttribute('src', /^\/api\/v1\/conversations\/\d+\/messages\/\d+\/previews\/1\/image\?v=[0-9a-f]+$/)
    await expect.poll(() => img.evaluate((i) => i.naturalWidth)).toBeGreaterThan(0)
    expect(hits).toBe(1)
    // only the sender has the button; taking it off reaches the other browser
    await expect(bubble(b, 'have you seen').getByTestId('remove-previews')).toHaveCount(0)
    await bubble(a, 'have you seen').getByTestId('remove-previews').click()
    await expect(bubble(a, 'have you seen').getByTestId('link-preview')).toHaveCount(0)
    await expect(card).toHaveCount(0)
  } finally {
    site.close()
  }
})
