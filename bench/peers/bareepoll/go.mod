module peers/bareepoll

go 1.26
