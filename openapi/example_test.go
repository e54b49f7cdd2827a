package openapi_test

import (
	"fmt"

	"github.com/rankr/ghlgate/openapi"
)

func ExampleDefault() {
	spec, err := openapi.Default()
	if err != nil {
		panic(err)
	}
	op, params, err := spec.Match("PUT", "/contacts/c1/tasks/t1/completed")
	if err != nil {
		panic(err)
	}
	fmt.Println(op.ID, op.Scopes, params["contactId"], params["taskId"], op.Location)
	// Output: update-task-completed [[contacts.write]] c1 t1 none
}
