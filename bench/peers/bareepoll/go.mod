module peers/bareepoll

go 1.26

require peers/respcheck v0.0.0

replace peers/respcheck => ../respcheck
