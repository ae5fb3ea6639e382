module peers/nethttp

go 1.26
