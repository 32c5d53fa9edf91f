// Package tui is evtriage's hunting screen: a full-screen bubbletea program
// composed of components in the style of bubbles (each with a KeyMap of
// key.Binding, Styles, and Update/View): a sortable, virtualised findings
// table, a collapsible process tree, a detail pane explaining each match,
// a status bar of filter toggles, search, export and help.
//
// All work proportional to the data (loading, filtering, sorting, searching,
// exporting) runs in tea.Cmds; a keypress only touches what is on screen.
// Every string that comes from evidence goes through Clean before it is
// drawn.
package tui
