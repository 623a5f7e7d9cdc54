// The Go recipes of docs/clients.md, built by .ci/generators.sh against the client
// openapi-generator's `go` target makes from openapi/openapi.json (clients/matrix/out/oag-go).
module clara.example/recipes

go 1.19

require github.com/clara/clara-go v0.0.0

replace github.com/clara/clara-go => ../../out/oag-go
