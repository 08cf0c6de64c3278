// The app's one state: components render it and call the modules'
// actions, and never fetch behind their back. The WebSocket and /sync
// (sync.js) feed it; each module owns one concern.
import { reactive } from 'vue'

export const state = reactive({
  user: null,
  loaded: false,
  conversations: {}, // id → Conversation
  groups: {}, // id → Group (its channels live in conversations; here by id)
  members: {}, // group id → [Member], for groups whose page was opened
  invites: {}, // group id → [Invite], for admins
  receipts: {}, // channel id → { user id: { delivered_seq, read_seq } }
  // large channel id → { lo, hi, bySeq: { seq: { delivered, read } } }
  receiptCounts: {},
  messages: {}, // conversation id → { list: [Message by seq], pending: [optimistic], hasMore, loaded }
  contacts: [],
  presence: {}, // user id → { online, last_seen }
  typing: {}, // conversation id → { user id: expires at (ms) }
  connection: 'offline', // online | reconnecting | offline
  cursor: null,
  openId: null, // the conversation on screen
  now: Date.now(),
  config: { signup: 'open' }, // the server's /config
  notifications: 'Notification' in window ? Notification.permission : 'unsupported',
})

// userCache holds users seen in member lists (channels), by id.
export const userCache = reactive({})

setInterval(() => (state.now = Date.now()), 1000)

// onReset registers what another module keeps about the signed-in user
// outside state, to be forgotten with it.
const resets = []
export function onReset(fn) {
  resets.push(fn)
}

// reset forgets everything about the signed-in user.
export function reset() {
  Object.assign(state, {
    user: null, conversations: {}, groups: {}, members: {}, invites: {}, receipts: {}, receiptCounts: {}, messages: {},
    contacts: [], presence: {}, typing: {}, cursor: null, openId: null, connection: 'offline',
  })
  for (const k of Object.keys(userCache)) delete userCache[k]
  for (const fn of resets) fn()
}
