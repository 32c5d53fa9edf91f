// Command evtriage is a terminal UI and headless hunter for regsvr32 abuse
// (MITRE ATT&CK T1218.010) in Windows event logs (.evtx).
package main

import "os"

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }
