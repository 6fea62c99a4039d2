// A stand-in for Tencent Cloud's VPC SDK module, which the Go module proxy
// here refuses to serve (403 for every version). flanneld links it only for
// its tencent-vpc backend, which Plinth does not use (it runs vxlan). The
// replace directive in ../go.mod points flannel at this module.
module github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/vpc

go 1.26.0
