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
