module peers/idleconn

go 1.26
