module peers/respcheck

go 1.26
