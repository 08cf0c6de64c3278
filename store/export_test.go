package store

// The statement text, for tests that read its plan.
const ListPresenceWatchersSQL = listPresenceWatchers

const ListConversationsSQL = listConversations

const ListRemovalsSQL = listRemovals

const ListGroupRemovalsSQL = listGroupRemovals

const UploadedBytesSQL = uploadedBytes
