package frametest_test

import (
	"encoding/hex"
	"fmt"

	"github.com/hoptrace/hoptrace/internal/frametest"
)

// A UDP datagram between pods, carried over flannel's VXLAN between nodes.
// The tests that use these builders depend on their exact bytes: this
// example fails if any of them changes.
func Example() {
	inner := frametest.IP4("10.244.0.5", "10.244.1.5", 17, frametest.UDP(5353, 53, []byte("hi")),
		frametest.IP4Opt{TTL: 63, ID: 7, DF: true})
	frame := frametest.Eth(0x0800, frametest.IP4("192.168.1.10", "192.168.1.11", 17,
		frametest.UDP(51000, 8472, frametest.VXLAN(1, frametest.Eth(0x0800, inner)))))
	fmt.Print(hex.Dump(frame))
	// Output:
	// 00000000  02 00 00 00 00 02 02 00  00 00 00 01 08 00 45 00  |..............E.|
	// 00000010  00 50 12 34 00 00 40 11  00 00 c0 a8 01 0a c0 a8  |.P.4..@.........|
	// 00000020  01 0b c7 38 21 18 00 3c  00 00 08 00 00 00 00 00  |...8!..<........|
	// 00000030  01 00 02 00 00 00 00 02  02 00 00 00 00 01 08 00  |................|
	// 00000040  45 00 00 1e 00 07 40 00  3f 11 00 00 0a f4 00 05  |E.....@.?.......|
	// 00000050  0a f4 01 05 14 e9 00 35  00 0a 00 00 68 69        |.......5....hi|
}

func ExampleTCP() {
	fmt.Print(hex.Dump(frametest.TCP(40000, 80, 0x02, 1000, 0, 1460, 0)))
	// Output:
	// 00000000  9c 40 00 50 00 00 03 e8  00 00 00 00 60 02 fa f0  |.@.P........`...|
	// 00000010  00 00 00 00 02 04 05 b4                           |........|
}

func ExampleIP6() {
	fmt.Print(hex.Dump(frametest.IP6("fd00::1", "fd00::2", 44, frametest.IP6Frag(17, 1480, true, 0xdeadbeef, nil))))
	// Output:
	// 00000000  60 00 00 00 00 08 2c 40  fd 00 00 00 00 00 00 00  |`.....,@........|
	// 00000010  00 00 00 00 00 00 00 01  fd 00 00 00 00 00 00 00  |................|
	// 00000020  00 00 00 00 00 00 00 02  11 00 05 c9 de ad be ef  |................|
}

func ExampleSLL2() {
	fmt.Print(hex.Dump(frametest.SLL2(0x86dd, 5, 4, frametest.ICMP(2, 0, 1280, nil))))
	// Output:
	// 00000000  86 dd 00 00 00 00 00 05  00 01 04 06 00 00 00 00  |................|
	// 00000010  00 00 00 00 02 00 00 00  00 00 05 00              |............|
}

func ExampleGREKey() {
	frame := frametest.GREKey(0x6558, 77, frametest.Geneve(0x123456, 0x6558, 1,
		frametest.Eth(0x8100, frametest.VLAN(7, 0x0806, nil))))
	fmt.Print(hex.Dump(frame))
	// Output:
	// 00000000  20 00 65 58 00 00 00 4d  01 00 65 58 12 34 56 00  | .eX...M..eX.4V.|
	// 00000010  00 00 00 00 02 00 00 00  00 02 02 00 00 00 00 01  |................|
	// 00000020  81 00 00 07 08 06                                 |......|
}
