// cnitool drives CNI plugins through libcni, as a container runtime does.
//
// Usage: cnitool add|check|del CONFLIST NETNS CONTAINERID IFNAME CACHEDIR
//
// Plugins are looked up in CNI_PATH (colon-separated). CNITOOL_ARGS holds
// CNI_ARGS pairs ("K=V;K=V"), CNITOOL_CAPS a JSON object of capability args
// (runtimeConfig). The ADD result is printed as JSON on stdout; an error is
// printed on stderr and the exit status is 1.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/containernetworking/cni/libcni"
)

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}

func main() {
	if len(os.Args) != 7 {
		fail("usage: cnitool add|check|del CONFLIST NETNS CONTAINERID IFNAME CACHEDIR")
	}
	command, file, netns, id, ifname, cache := os.Args[1], os.Args[2], os.Args[3], os.Args[4], os.Args[5], os.Args[6]
	list, err := libcni.ConfListFromFile(file)
	if err != nil {
		fail("reading %s: %v", file, err)
	}
	rt := &libcni.RuntimeConf{ContainerID: id, NetNS: netns, IfName: ifname}
	if pairs := os.Getenv("CNITOOL_ARGS"); pairs != "" {
		for _, pair := range strings.Split(pairs, ";") {
			kv := strings.SplitN(pair, "=", 2)
			if len(kv) != 2 {
				fail("CNITOOL_ARGS: bad pair %q", pair)
			}
			rt.Args = append(rt.Args, [2]string{kv[0], kv[1]})
		}
	}
	if caps := os.Getenv("CNITOOL_CAPS"); caps != "" {
		if err := json.Unmarshal([]byte(caps), &rt.CapabilityArgs); err != nil {
			fail("CNITOOL_CAPS: %v", err)
		}
	}
	cni := libcni.NewCNIConfigWithCacheDir(strings.Split(os.Getenv("CNI_PATH"), ":"), cache, nil)
	ctx := context.Background()
	switch command {
	case "add":
		result, err := cni.AddNetworkList(ctx, list, rt)
		if err != nil {
			fail("%v", err)
		}
		out, err := json.Marshal(result)
		if err != nil {
			fail("encoding the result: %v", err)
		}
		fmt.Println(string(out))
	case "check":
		if err := cni.CheckNetworkList(ctx, list, rt); err != nil {
			fail("%v", err)
		}
	case "del":
		if err := cni.DelNetworkList(ctx, list, rt); err != nil {
			fail("%v", err)
		}
	default:
		fail("unknown command %q", command)
	}
}
