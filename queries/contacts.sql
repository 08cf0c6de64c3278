-- name: ListContacts :many
SELECT sqlc.embed(users), contacts.alias, contacts.created_at AS added_at
FROM contacts JOIN users ON users.id = contacts.user_id
WHERE contacts.owner_id = $1
ORDER BY lower(coalesce(contacts.alias, users.display_name)), users.id;

-- name: GetContact :one
SELECT sqlc.embed(users), contacts.alias, contacts.created_at AS added_at
FROM contacts JOIN users ON users.id = contacts.user_id
WHERE contacts.owner_id = $1 AND contacts.user_id = $2;

-- name: CreateContact :exec
INSERT INTO contacts (owner_id, user_id, alias) VALUES ($1, $2, $3);

-- name: UpdateContactAlias :execrows
UPDATE contacts SET alias = $3 WHERE owner_id = $1 AND user_id = $2;

-- name: DeleteContact :execrows
DELETE FROM contacts WHERE owner_id = $1 AND user_id = $2;
