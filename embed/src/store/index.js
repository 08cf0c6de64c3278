// The store, by concern: state.js (the one reactive state), session.js,
// conversations.js, messages.js, groups.js, contacts.js and sync.js (the
// socket, /sync and the cache); endpoints.js wraps the REST API.
export { state, userCache } from './state.js'
export * from './session.js'
export * from './conversations.js'
export * from './messages.js'
export * from './groups.js'
export * from './contacts.js'
export * from './push.js'
export { sync } from './sync.js'
