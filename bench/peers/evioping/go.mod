module peers/evioping

go 1.26

require peers/resp v0.0.0

require github.com/kavu/go_reuseport v1.5.0 // indirect

replace peers/resp => ../resp

require (
	github.com/tidwall/evio v1.0.8
	peers/respcheck v0.0.0
)

replace peers/respcheck => ../respcheck
