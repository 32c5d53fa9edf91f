package rules

// compiledRule is the matcher built from a rule's detection at load time.
type compiledRule struct{}
