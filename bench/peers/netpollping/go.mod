module peers/netpollping

go 1.26

require peers/resp v0.0.0

require (
	github.com/bytedance/gopkg v0.1.1 // indirect
	github.com/cloudwego/gopkg v0.1.4 // indirect
)

replace peers/resp => ../resp

require (
	github.com/cloudwego/netpoll v0.7.2
	peers/respcheck v0.0.0
)

replace peers/respcheck => ../respcheck
