// Package recipes shows the generated Go client (openapi-generator `go`) in use; CI
// compiles it (.ci/generators.sh), docs/clients.md quotes it.
package recipes

import (
	"context"
	"net/http"
	"strconv"

	clara "github.com/clara/clara-go"
)

// NewClient talks to one server. The spec's default server is a local one
// (http://127.0.0.1:8000/api/v1); name yours.
func NewClient(baseURL string) *clara.APIClient {
	cfg := clara.NewConfiguration()
	cfg.Servers = clara.ServerConfigurations{{URL: baseURL}}
	return clara.NewAPIClient(cfg)
}

// Credentials: ONE per context. The client puts the context's ApiKey into Authorization
// on the operations that take it, and a context's bearer token (or Basic pair) on every
// request: a context holding a key and a token sends two Authorization headers.

// WithKey carries the public key or the admin key (the spec's ApiKey; each operation
// says which one it takes).
func WithKey(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, clara.ContextAPIKeys, map[string]clara.APIKey{"ApiKey": {Key: key}})
}

// WithToken carries a session token or an API key token (BearerAuth).
func WithToken(ctx context.Context, token string) context.Context {
	return context.WithValue(ctx, clara.ContextAccessToken, token)
}

// WithLogin carries e-mail and password (BasicAuth), for login only.
func WithLogin(ctx context.Context, email, password string) context.Context {
	return context.WithValue(ctx, clara.ContextBasicAuth, clara.BasicAuth{UserName: email, Password: password})
}

// Register signs up with the public key; retries reuse the same Idempotency-Key.
func Register(c *clara.APIClient, publicKey, email, password, idempotencyKey string) (string, error) {
	body := clara.NewRegisterRequest(email, "Ada", password)
	env, _, err := c.AuthAPI.AuthRegister(WithKey(context.Background(), publicKey)).
		RegisterRequest(*body).IdempotencyKey(idempotencyKey).Execute()
	if err != nil {
		return "", err
	}
	return env.Data.GetId(), nil
}

// Login returns a session token.
func Login(c *clara.APIClient, email, password string) (string, error) {
	env, _, err := c.AuthAPI.AuthLogin(WithLogin(context.Background(), email, password)).Execute()
	if err != nil {
		return "", err
	}
	return env.Data.GetToken(), nil
}

// Transactions reads one page and the total (X-Total-Count).
func Transactions(c *clara.APIClient, token, userID string, offset int64) ([]clara.Transaction, int, error) {
	env, resp, err := c.TransactionAPI.TransactionsList(WithToken(context.Background(), token), userID).
		Limit(100).Offset(offset).Execute()
	if err != nil {
		return nil, 0, err
	}
	total, _ := strconv.Atoi(resp.Header.Get("X-Total-Count"))
	return env.Data, total, nil
}

// Buy opens a Checkout page; a replayed answer says Idempotent-Replayed.
func Buy(c *clara.APIClient, token, idempotencyKey string) (string, bool, error) {
	env, resp, err := c.StripeAPI.StripeBuy(WithToken(context.Background(), token)).
		BuyRequest(*clara.NewBuyRequest(5, "/billing")).IdempotencyKey(idempotencyKey).Execute()
	if err != nil {
		return "", false, err
	}
	return env.Data.GetUrl(), resp.Header.Get("Idempotent-Replayed") == "true", nil
}

// DeleteAsAdmin takes the admin key (Delete also takes the user's own token: use one).
func DeleteAsAdmin(c *clara.APIClient, adminKey, userID string) error {
	resp, err := c.UserAPI.UsersDelete(WithKey(context.Background(), adminKey), userID).Execute()
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusNoContent {
		return &clara.GenericOpenAPIError{}
	}
	return nil
}

// ErrorCode is the envelope's stable `code` of a non-2xx answer.
func ErrorCode(err error) string {
	if apiErr, ok := err.(*clara.GenericOpenAPIError); ok {
		if body, ok := apiErr.Model().(clara.ErrorBody); ok {
			return body.GetCode()
		}
	}
	return ""
}
