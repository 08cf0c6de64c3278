// Draws the app icons (public/icon-192.png, icon-512.png) from the shape of
// favicon.svg: an indigo rounded square with a white speech bubble. Run
// with node after changing the shape; the PNGs are committed.
import fs from 'node:fs'
import zlib from 'node:zlib'

function png(size, maskable) {
  const s = size / 32
  const px = Buffer.alloc(size * size * 4)
  const inBubble = (x, y) => {
    // the bubble: 8..24 × 10..20, and a tail from (8,20) (14,20) to (8,25)
    if (x >= 8 && x <= 24 && y >= 10 && y <= 20) return true
    if (y > 20 && y <= 25 && x >= 8 && x <= 14 - ((y - 20) * 6) / 5) return true
    return false
  }
  const r = 8 // corner radius, in the 32-unit box
  for (let j = 0; j < size; j++) {
    for (let i = 0; i < size; i++) {
      // maskable: the shape sits in the middle 80%, on a full-bleed background
      let x = (i + 0.5) / s
      let y = (j + 0.5) / s
      if (maskable) {
        x = (x - 16) / 0.8 + 16
        y = (y - 16) / 0.8 + 16
      }
      const cx = Math.min(Math.max(x, r), 32 - r)
      const cy = Math.min(Math.max(y, r), 32 - r)
      const inside = maskable || (x - cx) ** 2 + (y - cy) ** 2 <= r * r
      const o = (j * size + i) * 4
      if (!inside) continue
      const white = inBubble(x, y)
      px.set(white ? [255, 255, 255, 255] : [0x4f, 0x46, 0xe5, 255], o)
    }
  }
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
  ihdr.writeUInt32BE(size, 0)
  ihdr.writeUInt32BE(size, 4)
  ihdr[8] = 8
  ihdr[9] = 6 // RGBA
  const rows = []
  for (let j = 0; j < size; j++) rows.push(Buffer.from([0]), px.subarray(j * size * 4, (j + 1) * size * 4))
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(Buffer.concat(rows), { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ])
}

const dir = new URL('../public/', import.meta.url)
fs.writeFileSync(new URL('icon-192.png', dir), png(192, false))
fs.writeFileSync(new URL('icon-512.png', dir), png(512, false))
fs.writeFileSync(new URL('icon-maskable-512.png', dir), png(512, true))
