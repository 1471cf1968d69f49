"""click commands, thin: parse, call a workflow or a repository, print."""
