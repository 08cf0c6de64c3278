// Times as people read them: "14:05" today, "Mon" this week, else a date.
const pad = (n) => String(n).padStart(2, '0')

export function hhmm(d) {
  return `${pad(d.getHours())}:${pad(d.getMinutes())}`
}

export function listTime(iso) {
  if (!iso) return ''
  const d = new Date(iso)
  const now = new Date()
  if (d.toDateString() === now.toDateString()) return hhmm(d)
  const days = (now - d) / 86400000
  if (days < 6) return d.toLocaleDateString(undefined, { weekday: 'short' })
  return d.toLocaleDateString(undefined, { day: 'numeric', month: 'short', year: d.getFullYear() === now.getFullYear() ? undefined : 'numeric' })
}

export function dayLabel(iso) {
  const d = new Date(iso)
  const now = new Date()
  if (d.toDateString() === now.toDateString()) return 'Today'
  const y = new Date(now)
  y.setDate(now.getDate() - 1)
  if (d.toDateString() === y.toDateString()) return 'Yesterday'
  return d.toLocaleDateString(undefined, { weekday: 'long', day: 'numeric', month: 'long', year: d.getFullYear() === now.getFullYear() ? undefined : 'numeric' })
}

export function lastSeenText(p) {
  if (!p) return ''
  if (p.online) return 'online'
  if (!p.last_seen) return 'offline'
  const d = new Date(p.last_seen)
  const today = d.toDateString() === new Date().toDateString()
  return 'last seen ' + (today ? hhmm(d) : listTime(p.last_seen) + ' ' + hhmm(d))
}

// plural says "1 member", "2 members".
export function plural(n, one, many = one + 's') {
  return `${n} ${n === 1 ? one : many}`
}

// count is an unread badge: the server counts up to 1000, shown as "999+".
export function count(n) {
  return n > 999 ? '999+' : String(n)
}

// bytes says "512 B", "1.5 KB", "20 MB".
export function bytes(n) {
  if (n < 1024) return `${n} B`
  const units = ['KB', 'MB', 'GB']
  let i = -1
  do {
    n /= 1024
    i++
  } while (n >= 1024 && i < units.length - 1)
  return `${n < 10 ? n.toFixed(1) : Math.round(n)} ${units[i]}`
}

// isImage: a picture the browser shows inline (the server serves only
// these inline; SVG is always a download).
export function isImage(a) {
  return /^image\/(png|jpeg|gif|webp)$/.test(a.content_type || a.type || '')
}

// summary is what a list or a notification shows of a message: its text,
// or what it carries.
export function attachmentsText(m) {
  const a = m.attachments || []
  if (!a.length) return ''
  const images = a.filter(isImage).length
  if (images === a.length) return images === 1 ? 'Photo' : `${images} photos`
  return a.length === 1 ? a[0].name : `${a.length} files`
}
