package server

import (
	"github.com/parleychat/parley/server/chat"
	"net/http"

	"github.com/go-chi/chi/v5"
)

// routes is every route on one screen.
func (s *Server) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(s.withRequest, s.observe, s.recoverPanics)
	r.NotFound(s.handleUI)
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) { s.respondError(w, r, errMethod) })

	r.Get("/healthz", s.handleHealthz)
	r.Get("/readyz", s.handleReadyz)
	r.Get("/metrics", s.handleMetrics)

	r.Route("/api/v1", func(r chi.Router) {
		r.Use(s.checkOrigin)
		r.NotFound(func(w http.ResponseWriter, r *http.Request) { s.respondError(w, r, chat.ErrNotFound) })

		r.Post("/auth/signup", s.handleSignup)
		r.Post("/auth/login", s.handleLogin)

		r.Group(func(r chi.Router) {
			r.Use(s.requireUser)
			r.Post("/auth/logout", s.handleLogout)
			r.Get("/me", s.handleMe)
			r.Patch("/me", s.handleUpdateMe)
			r.Post("/me/password", s.handleChangePassword)

			r.Get("/users", s.handleSearchUsers)
			r.Get("/contacts", s.handleListContacts)
			r.Post("/contacts", s.handleAddContact)
			r.Patch("/contacts/{user_id}", s.handleUpdateContact)
			r.Delete("/contacts/{user_id}", s.handleDeleteContact)

			r.Get("/conversations", s.handleListConversations)
			r.Post("/direct", s.handleDirect)
			r.Get("/conversations/{id}", s.handleGetConversation)
			r.Patch("/conversations/{id}", s.handlePatchConversation)
			r.Delete("/conversations/{id}", s.clearConversation(true))
			r.Post("/conversations/{id}/clear", s.clearConversation(false))
			r.Get("/conversations/{id}/messages", s.handleListMessages)
			r.Post("/conversations/{id}/messages", s.handleSendMessage)
			r.Get("/conversations/{id}/receipts", s.handleListReceipts)
			r.Post("/conversations/{id}/receipts", s.handlePostReceipts)

			r.Get("/groups", s.handleListGroups)
			r.Post("/groups", s.handleCreateGroup)
			r.Get("/groups/{id}", s.handleGetGroup)
			r.Patch("/groups/{id}", s.handlePatchGroup)
			r.Delete("/groups/{id}", s.handleDeleteGroup)
			r.Get("/groups/{id}/members", s.handleListMembers)
			r.Post("/groups/{id}/members", s.handleAddMember)
			r.Patch("/groups/{id}/members/{user_id}", s.handlePatchMember)
			r.Delete("/groups/{id}/members/{user_id}", s.handleRemoveMember)
			r.Post("/groups/{id}/transfer", s.handleTransfer)
			r.Post("/groups/{id}/channels", s.handleCreateChannel)
			r.Patch("/groups/{id}/channels/{channel_id}", s.handleRenameChannel)
			r.Delete("/groups/{id}/channels/{channel_id}", s.handleDeleteChannel)
			r.Get("/groups/{id}/invites", s.handleListInvites)
			r.Post("/groups/{id}/invites", s.handleCreateInvite)
			r.Delete("/groups/{id}/invites/{code}", s.handleRevokeInvite)
			r.Get("/invites/{code}", s.handlePreviewInvite)
			r.Post("/invites/{code}/accept", s.handleAcceptInvite)

			r.Get("/sync", s.handleSync)
			r.Get("/presence", s.handlePresence)
		})
		r.Get("/ws", s.handleWS) // authenticates itself, before upgrading
	})
	return r
}
