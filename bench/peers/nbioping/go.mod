module peers/nbioping

go 1.26

require peers/resp v0.0.0

require github.com/lesismal/nbio v1.6.8

replace peers/resp => ../resp

require peers/respcheck v0.0.0

replace peers/respcheck => ../respcheck
