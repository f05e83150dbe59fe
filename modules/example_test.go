package modules_test

import (
	"fmt"

	"github.com/mode-build/mode/modules"
)

func ExampleLoad() {
	h, err := modules.Load("testdata/example")
	if err != nil {
		fmt.Println(err)
		return
	}
	plan, err := h.Plan("console", "motd")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, m := range plan {
		fmt.Println(h.FileName(m.Name), m.ConfigOnly())
	}
	// Output:
	// base.sqfs false
	// base-essential.sqfs false
	// base-essential-console.sqfs false
	// base-essential-motd.sqfs true
}
