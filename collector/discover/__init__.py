"""Discovery: one module per source kind, each turning a fetched body into Candidates."""
