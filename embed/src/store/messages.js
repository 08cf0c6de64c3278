// Messages of each conversation: history, sends with optimistic bubbles,
// receipts (ticks and "read by k of n"), typing and notifications.
import { reactive } from 'vue'
import { state, userCache, onReset } from './state.js'
import { fetchConversation } from './conversations.js'
import { displayName } from './contacts.js'
import { loadMembers } from './groups.js'
import * as rt from '../realtime.js'
import * as ep from '../endpoints.js'
import { attachmentsText, isImage } from '../format.js'
import { subscribePush } from './push.js'

export function messageBucket(id) {
  if (!state.messages[id]) state.messages[id] = { list: [], pending: [], hasMore: true, loaded: false }
  return state.messages[id]
}

export function lastSeq(m) {
  return m.list.length ? m.list[m.list.length - 1].seq : 0
}

// insert places messages by seq, never twice.
// early holds the latest message.updated of messages this device does not
// hold yet: a history page asked for before an update can arrive after it,
// and must not bring back the older version.
const early = new Map()
const MAX_EARLY = 256
// what this module keeps of the signed-in user goes with them
onReset(() => {
  early.clear()
  clearTimeout(ackTimer)
  ackTimer = null
  for (const k of Object.keys(pendingAcks)) delete pendingAcks[k]
  for (const k of Object.keys(lastTypingSent)) delete lastTypingSent[k]
  for (const id of localOrder.splice(0)) {
    URL.revokeObjectURL(localImages[id])
    delete localImages[id]
  }
})

function keepEarly(msg) {
  const k = `${msg.conversation_id}:${msg.seq}`
  const old = early.get(k)
  if (old && (old.version || 1) > (msg.version || 1)) return
  early.delete(k)
  early.set(k, msg)
  if (early.size > MAX_EARLY) early.delete(early.keys().next().value)
}

function insert(convId, msgs) {
  const m = messageBucket(convId)
  const bySeq = new Map(m.list.map((x) => [x.seq, x]))
  for (let x of msgs) {
    const k = `${convId}:${x.seq}`
    const later = early.get(k)
    if (later) {
      early.delete(k)
      if ((later.version || 1) > (x.version || 1)) x = later
    }
    const old = bySeq.get(x.seq) // a send's answer may come after the update of what it sent
    if (!old || (old.version || 1) <= (x.version || 1)) bySeq.set(x.seq, x)
  }
  m.list = [...bySeq.values()].sort((a, b) => a.seq - b.seq)
  const mine = new Set(msgs.filter((x) => x.sender_id === state.user?.id).map((x) => x.client_id))
  if (mine.size) m.pending = m.pending.filter((p) => !mine.has(p.client_id))
}

// onMessage takes a new message (message.created, or a send's answer).
export function onMessage(msg) {
  const c = state.conversations[msg.conversation_id]
  if (!c) {
    // a conversation this device has not seen yet (or a direct chat that
    // /sync left out until its first message): if it is on screen, load it
    const id = msg.conversation_id
    fetchConversation(id)
      .then(() => state.openId === id && openConversation(id))
      .catch(() => {})
    return
  }
  const m = state.messages[msg.conversation_id]
  if (!m && state.openId === msg.conversation_id) openConversation(msg.conversation_id).catch(() => {}) // its history was dropped
  if (m && (m.loaded || m.list.length)) {
    const have = lastSeq(m)
    insert(msg.conversation_id, [msg])
    if (have && msg.seq > have + 1) fetchAfter(msg.conversation_id, have) // a gap
  }
  const fromOther = msg.sender_id !== state.user.id
  const isNew = msg.seq > c.last_seq // else the conversation already counts it
  const newer = !c.last_message || msg.seq > c.last_message.seq || (msg.seq === c.last_message.seq && (msg.version || 1) >= (c.last_message.version || 1))
  if (isNew || newer) {
    c.last_seq = Math.max(c.last_seq, msg.seq)
    c.last_message = msg
    c.updated_at = msg.created_at
  }
  if (fromOther) {
    if (isNew && msg.seq > c.read_seq) {
      c.unread_count = (c.unread_count || 0) + 1
      if (mentionsMe(msg)) c.mention_count = (c.mention_count || 0) + 1
    }
    acknowledge(msg.conversation_id, { delivered_seq: msg.seq })
    if (state.typing[msg.conversation_id]) delete state.typing[msg.conversation_id][msg.sender_id]
    if (state.openId === msg.conversation_id) markRead(msg.conversation_id)
    notify(c, msg)
  } else {
    c.delivered_seq = Math.max(c.delivered_seq, msg.seq)
    c.read_seq = Math.max(c.read_seq, msg.seq)
  }
}

export function onReceipt(r) {
  const c = state.conversations[r.conversation_id]
  if (!c) return
  if (r.user_id === state.user.id) {
    c.delivered_seq = Math.max(c.delivered_seq, r.delivered_seq)
    if (r.read_seq > c.read_seq) {
      c.read_seq = r.read_seq
      c.unread_count = countUnread(c)
    }
  } else if (c.kind === 'direct') {
    c.peer_delivered_seq = Math.max(c.peer_delivered_seq || 0, r.delivered_seq)
    c.peer_read_seq = Math.max(c.peer_read_seq || 0, r.read_seq)
  }
  if (c.kind === 'channel') {
    const m = (state.receipts[c.id] ||= {})
    const old = m[r.user_id] || { delivered_seq: 0, read_seq: 0 }
    m[r.user_id] = { delivered_seq: Math.max(old.delivered_seq, r.delivered_seq), read_seq: Math.max(old.read_seq, r.read_seq) }
  }
}

// A channel of more than LARGE members gets no receipt events (docs/protocol.md).
const LARGE = 100
const isLarge = (c) => (c.member_count || 0) > LARGE

// loadCounts adds the read counts of seqs from..to (the newest 200 of
// them; to defaults to the last) to what a large channel holds.
async function loadCounts(convId, from, to) {
  const { counts } = await ep.getReceiptCounts(convId, Math.max(from, 1), to)
  const cur = state.receiptCounts[convId] || { lo: Infinity, hi: 0, bySeq: {} }
  for (const x of counts) cur.bySeq[x.seq] = { delivered: x.delivered, read: x.read }
  if (counts.length) {
    cur.lo = Math.min(cur.lo, counts[0].seq)
    cur.hi = Math.max(cur.hi, counts[counts.length - 1].seq)
  }
  state.receiptCounts[convId] = cur
}

// loadReceipts fetches what "read by k of n" needs in a channel: in a
// large one counts per message (its receipts are not pushed, and listing
// every member's would grow with it), in a small one every member's
// watermarks, which name the readers. The chat view calls it again when a
// channel it shows crosses the size (a cached size, corrected by a sync).
export async function loadReceipts(convId) {
  const c = state.conversations[convId]
  if (!c || c.kind !== 'channel') return
  if (isLarge(c)) {
    const m = messageBucket(convId)
    delete state.receiptCounts[convId]
    await loadCounts(convId, m.list.length ? m.list[0].seq : 1)
    return
  }
  delete state.receiptCounts[convId]
  const { receipts } = await ep.getReceipts(convId)
  const map = {}
  for (const r of receipts) map[r.user_id] = { delivered_seq: r.delivered_seq, read_seq: r.read_seq }
  state.receipts[convId] = map
  // a sync made it large meanwhile
  if (isLarge(c)) await loadReceipts(convId)
}

export { isLarge as isLargeChannel }

// readCount is how many other members of a large channel have read seq:
// null where the counts loaded do not reach (older history), 0 past them
// (sent since).
export function readCount(convId, seq) {
  const cur = state.receiptCounts[convId]
  if (!cur || seq < cur.lo) return null
  return cur.bySeq[seq]?.read || 0
}

// readers lists the other members of a channel who have read seq.
export function readers(convId, seq) {
  const m = state.receipts[convId] || {}
  return Object.entries(m)
    .filter(([uid, r]) => +uid !== state.user.id && r.read_seq >= seq)
    .map(([uid]) => +uid)
}

// countUnread recounts from the messages held, when they cover the range.
function countUnread(c) {
  if (c.read_seq >= c.last_seq) return 0
  const m = state.messages[c.id]
  const from = Math.max(c.read_seq, c.cleared_seq || 0, c.joined_seq || 0)
  if (m && m.list.length && m.list[0].seq <= from + 1) {
    return m.list.filter((x) => x.seq > from && x.sender_id !== state.user.id && !x.deleted).length
  }
  return Math.min(c.unread_count || 0, c.last_seq - c.read_seq)
}

// ---------- receipts ----------

const pendingAcks = {}
let ackTimer = null

// acknowledge coalesces receipts for a moment, then sends one frame per
// conversation (or a POST while the socket is down).
export function acknowledge(convId, r) {
  const p = (pendingAcks[convId] ||= { delivered_seq: 0, read_seq: 0 })
  p.delivered_seq = Math.max(p.delivered_seq, r.delivered_seq || 0, r.read_seq || 0)
  p.read_seq = Math.max(p.read_seq, r.read_seq || 0)
  if (!ackTimer) ackTimer = setTimeout(flushAcks, 100)
}

function flushAcks() {
  ackTimer = null
  for (const [id, r] of Object.entries(pendingAcks)) {
    delete pendingAcks[id]
    const data = { conversation_id: +id, delivered_seq: r.delivered_seq }
    if (r.read_seq) data.read_seq = r.read_seq
    if (!rt.sendFrame('receipt', data)) ep.postReceipts(id, data).catch(() => {})
  }
}

function canSeeChat() {
  return document.visibilityState === 'visible' && document.hasFocus()
}

// markRead sends the read receipt for an open chat, only while it is
// visible and focused.
export function markRead(convId) {
  const c = state.conversations[convId]
  if (!c || !canSeeChat()) return
  if (c.read_seq < c.last_seq) {
    acknowledge(convId, { read_seq: c.last_seq })
    c.read_seq = c.last_seq
    c.delivered_seq = Math.max(c.delivered_seq, c.last_seq)
    c.unread_count = 0
    c.mention_count = 0
  }
}

const readIfOpen = () => state.openId && markRead(state.openId)
document.addEventListener('visibilitychange', readIfOpen)
window.addEventListener('focus', readIfOpen)

// ---------- typing ----------

const lastTypingSent = {}
export function typing(convId) {
  const now = Date.now()
  if (now - (lastTypingSent[convId] || 0) < 3000) return
  lastTypingSent[convId] = now
  rt.sendFrame('typing', { conversation_id: convId })
}

export function onTyping(d) {
  if (d.user_id !== state.user?.id) {
    state.typing[d.conversation_id] = { ...(state.typing[d.conversation_id] || {}), [d.user_id]: Date.now() + 5000 }
  }
}

export function typingNames(convId) {
  const t = state.typing[convId]
  if (!t) return []
  const c = state.conversations[convId]
  return Object.entries(t)
    .filter(([, until]) => until > state.now)
    .map(([uid]) => {
      if (c?.peer && c.peer.id === +uid) return c.title
      return displayName(userCache[uid] || { id: +uid, display_name: 'Someone' })
    })
}

// ---------- history ----------

// openConversation loads a conversation's recent history and marks it
// read. It returns the read watermark from before, for the "New messages" line.
export async function openConversation(convId) {
  state.openId = convId
  const c = state.conversations[convId] || (await fetchConversation(convId))
  const readBefore = Math.max(c.read_seq, c.cleared_seq || 0, c.joined_seq || 0)
  const m = messageBucket(convId)
  if (!m.loaded) {
    const out = await ep.getMessages(convId, { limit: 50 })
    insert(convId, out.messages)
    m.hasMore = out.has_more
    m.loaded = true
    // a message that arrived while the page was on its way
    if (lastSeq(m) < c.last_seq) await fetchAfter(convId, lastSeq(m))
    acknowledgeDelivery(c)
  } else if (lastSeq(m) < c.last_seq) {
    await fetchAfter(convId, lastSeq(m))
  }
  if (c.kind === 'channel') await Promise.all([loadReceipts(convId), c.group_id ? loadMembers(c.group_id).catch(() => null) : null])
  markRead(convId)
  return readBefore
}

export function closeConversation(convId) {
  if (state.openId === convId) state.openId = null
}

export async function fetchAfter(convId, after) {
  for (;;) {
    const out = await ep.getMessages(convId, { after, limit: 200 })
    insert(convId, out.messages)
    if (!out.has_more || !out.messages.length) break
    after = out.messages[out.messages.length - 1].seq
  }
  acknowledgeDelivery(state.conversations[convId])
}

// acknowledgeDelivery says this device has everything up to the
// conversation's last message: one watermark, however many messages a
// sync or a history page brought in.
export function acknowledgeDelivery(c) {
  if (c && c.last_seq > (c.delivered_seq || 0)) {
    acknowledge(c.id, { delivered_seq: c.last_seq })
    c.delivered_seq = c.last_seq
  }
}

export async function loadOlder(convId) {
  const m = messageBucket(convId)
  if (!m.hasMore) return 0
  const params = { limit: 50 }
  if (m.list.length) params.before = m.list[0].seq
  const out = await ep.getMessages(convId, params)
  insert(convId, out.messages)
  m.hasMore = out.has_more
  const c = state.conversations[convId]
  if (c && c.kind === 'channel' && isLarge(c) && out.messages.length) {
    await loadCounts(convId, out.messages[0].seq, out.messages[out.messages.length - 1].seq).catch(() => {})
  }
  return out.messages.length
}

// ---------- sending ----------

function newClientId() {
  return crypto.randomUUID ? crypto.randomUUID() : Date.now().toString(36) + Math.random().toString(36).slice(2)
}

// send shows the message at once ("sending"), uploads its files (each with
// its progress, each cancelable), then posts it. A retry re-uploads only
// the files that failed and posts the same client_id, so it never
// duplicates the message.
export async function send(convId, body, replyTo = null, files = []) {
  const p = reactive({
    client_id: newClientId(),
    conversation_id: convId,
    sender_id: state.user.id,
    body,
    reply_to_seq: replyTo,
    reactions: [],
    mentions: { user_ids: [], all: false },
    created_at: new Date().toISOString(),
    status: 'sending',
    error: '',
    uploads: files.map((f) => ({
      key: newClientId(),
      file: f,
      name: f.name || 'pasted image',
      size: f.size,
      type: f.type,
      local: isImage(f) ? URL.createObjectURL(f) : null,
      progress: 0,
      status: 'waiting', // uploading | done | failed
      error: '',
      upload: null, // the server's Attachment once uploaded
      req: null,
    })),
  })
  messageBucket(convId).pending.push(p)
  await post(p)
}

export async function retry(p) {
  p.status = 'sending'
  p.error = ''
  await post(p)
}

// cancelUpload takes one file off a message still sending; a message left
// with neither text nor files goes.
export function cancelUpload(p, u) {
  u.canceled = true
  if (u.req) u.req.abort()
  p.uploads = p.uploads.filter((x) => x !== u)
  if (u.local) URL.revokeObjectURL(u.local)
  if (!p.body.trim() && !p.uploads.length) dropPending(p)
  else if (p.status === 'failed' && !p.uploads.some((x) => x.status === 'failed')) retry(p)
}

// discard gives up on a message that failed to send: its uploads stop,
// and it goes from the list (the server purges unsent uploads itself).
export function discard(p) {
  for (const u of p.uploads) {
    u.canceled = true
    if (u.req) u.req.abort()
    if (u.local) URL.revokeObjectURL(u.local)
  }
  dropPending(p)
}

function dropPending(p) {
  const m = state.messages[p.conversation_id]
  if (m) m.pending = m.pending.filter((x) => x !== p)
}

async function uploadAll(p) {
  await Promise.all(
    p.uploads
      .filter((u) => !u.upload)
      .map(async (u) => {
        u.status = 'uploading'
        u.error = ''
        u.progress = 0
        u.req = ep.upload(u.file, (x) => (u.progress = x))
        try {
          u.upload = await u.req
          u.status = 'done'
          u.progress = 1
        } catch (e) {
          if (!u.canceled) {
            u.status = 'failed'
            u.error = e.message
          }
        } finally {
          u.req = null
        }
      }),
  )
  const failed = p.uploads.find((u) => u.status === 'failed')
  if (failed) throw new Error(`${failed.name}: ${failed.error}`)
}

async function post(p) {
  try {
    if (p.uploads.length) await uploadAll(p)
    if (!p.body.trim() && !p.uploads.length) return dropPending(p) // every file canceled
    const body = { client_id: p.client_id, body: p.body }
    if (p.reply_to_seq) body.reply_to_seq = p.reply_to_seq
    if (p.uploads.length) body.upload_ids = p.uploads.map((u) => u.upload.id)
    const { message } = await ep.postMessage(p.conversation_id, body)
    onMessage(message)
    const m = state.messages[p.conversation_id]
    if (m && !m.list.some((x) => x.seq === message.seq)) insert(p.conversation_id, [message])
    dropPending(p) // were it not in the loaded history
    for (const u of p.uploads) if (u.local) keepLocal(u.upload.id, u.local)
  } catch (e) {
    p.status = 'failed'
    p.error = e.message
  }
}

// localImages shows one's own images from the file picked until their
// thumbnails come: attachment id → object URL, the latest few kept.
export const localImages = {}
const localOrder = []
function keepLocal(id, url) {
  localImages[id] = url
  localOrder.push(id)
  while (localOrder.length > 30) {
    const old = localOrder.shift()
    URL.revokeObjectURL(localImages[old])
    delete localImages[old]
  }
}

// removePreviews takes the link previews off one's own message.
export async function removePreviews(convId, seq) {
  await ep.deletePreviews(convId, seq)
  const m = find(convId, seq)
  if (m) Object.assign(m, { previews: [] }) // the server's message.updated follows
}

// ---------- a message's life: edits, deletes, reactions, replies ----------

export function mentionsMe(msg) {
  return !!msg && !msg.deleted && msg.sender_id !== state.user?.id && (msg.mentions?.all || (msg.mentions?.user_ids || []).includes(state.user?.id))
}

// onMessageUpdated takes a changed message (message.updated, a sync): the
// highest version wins, so copies arriving out of order never undo a newer state.
export function onMessageUpdated(msg) {
  const m = state.messages[msg.conversation_id]
  const i = m ? m.list.findIndex((x) => x.seq === msg.seq) : -1
  if (i >= 0) {
    if ((m.list[i].version || 1) <= msg.version) m.list[i] = msg
  } else {
    keepEarly(msg)
  }
  const q = quotes[`${msg.conversation_id}:${msg.seq}`]
  if (q && (q.version || 1) <= msg.version) quotes[`${msg.conversation_id}:${msg.seq}`] = msg
  const c = state.conversations[msg.conversation_id]
  if (c?.last_message && c.last_message.seq === msg.seq && (c.last_message.version || 1) <= msg.version) c.last_message = msg
  // a deleted message is not unread any more (as the server counts)
  if (c && msg.deleted && msg.seq > c.read_seq) c.unread_count = countUnread(c)
}

function find(convId, seq) {
  return state.messages[convId]?.list.find((x) => x.seq === seq)
}

export async function editMessage(convId, seq, body) {
  const { message } = await ep.patchMessage(convId, seq, body)
  onMessageUpdated(message)
}

export async function deleteMessage(convId, seq) {
  await ep.deleteMessage(convId, seq)
  const m = find(convId, seq)
  if (m) onMessageUpdated({ ...m, body: '', deleted: true, reactions: [], version: (m.version || 1) + 1 })
}

export async function revisions(convId, seq) {
  const { revisions } = await ep.getRevisions(convId, seq)
  return revisions
}

// react toggles the reader's emoji on a message; the change shows at once
// and the server's message.updated confirms it.
export async function react(convId, seq, emoji) {
  const m = find(convId, seq)
  const mine = !!m?.reactions?.find((r) => r.emoji === emoji && r.user_ids.includes(state.user.id))
  if (m) {
    const rs = (m.reactions || []).map((r) => ({ ...r, user_ids: [...r.user_ids] }))
    const r = rs.find((x) => x.emoji === emoji)
    if (mine) r.user_ids = r.user_ids.filter((id) => id !== state.user.id)
    else if (r) r.user_ids.push(state.user.id)
    else rs.push({ emoji, user_ids: [state.user.id] })
    m.reactions = rs.filter((x) => x.user_ids.length)
  }
  try {
    if (mine) await ep.deleteReaction(convId, seq, emoji)
    else await ep.putReaction(convId, seq, emoji)
  } catch (e) {
    if (m) {
      const { message } = await ep.getMessage(convId, seq)
      onMessageUpdated({ ...message, version: Math.max(message.version, m.version || 1) })
    }
    throw e
  }
}

// quotes holds replied-to messages not in the loaded history.
export const quotes = reactive({})

export function quoted(convId, seq) {
  const m = find(convId, seq) || quotes[`${convId}:${seq}`]
  if (!m && !(`${convId}:${seq}` in quotes)) {
    quotes[`${convId}:${seq}`] = null
    ep.getMessage(convId, seq).then(({ message }) => (quotes[`${convId}:${seq}`] = message)).catch(() => {})
  }
  return m || null
}

// reach loads history back to seq, so it can be shown in place.
export async function reach(convId, seq) {
  const m = messageBucket(convId)
  const first = m.list.length ? m.list[0].seq : null
  if (first === null || seq >= first) return
  const from = Math.max(seq - 10, 0)
  let after = from
  while (after < first - 1) {
    const out = await ep.getMessages(convId, { after, limit: Math.min(200, first - 1 - after) })
    if (!out.messages.length) break
    insert(convId, out.messages)
    after = out.messages[out.messages.length - 1].seq
  }
  if (from === 0) m.hasMore = false
}

// afterUpdates reloads what a truncated sync could not tell.
export async function reloadHistory() {
  for (const [id, m] of Object.entries(state.messages)) {
    m.list = []
    m.loaded = false
    m.hasMore = true
    if (+id === state.openId) await openConversation(+id)
  }
}

// ---------- notifications ----------

// Desktop notifications: permission is asked from a button (the sidebar
// offers it), never on load or on a send. Browsers allow them only over
// HTTPS or on localhost.
export const notificationsSupported = () => 'Notification' in window && window.isSecureContext

export async function enableNotifications() {
  if (!notificationsSupported()) return 'unsupported'
  const p = await Notification.requestPermission()
  state.notifications = p
  if (p === 'granted') subscribePush().catch(() => {}) // and pushes with the tab closed
  return p
}

function notify(c, msg) {
  if (c.muted || c.notify === 'none' || document.visibilityState === 'visible') return
  if (c.notify === 'mentions' && !mentionsMe(msg)) return
  if (!('Notification' in window) || Notification.permission !== 'granted') return
  try {
    const n = new Notification(c.title, { body: (msg.body || attachmentsText(msg)).slice(0, 140), tag: 'parley-' + c.id })
    n.onclick = () => {
      window.focus()
      window.dispatchEvent(new CustomEvent('parley:open', { detail: c.id }))
    }
  } catch {
    /* some browsers only notify from a service worker */
  }
}
