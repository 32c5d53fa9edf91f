// Package tui is evtriage's hunting screen: a full-screen bubbletea program
// composed of components in the style of bubbles and soft-serve: a sortable,
// virtualised findings table, a collapsible process tree, a detail pane
// explaining each match, a rules panel, a status bar of filter toggles,
// search, an export menu (JSON, JSON Lines, CSV, Timesketch) and help. It
// opens logs, or evtriage exports read back (Config.Exports). Its surface
// is Run, Config, Input, and New and Model for harnesses that drive a
// tea.Model.
//
// Each component keeps its state, its KeyMap (with ShortHelp and FullHelp,
// from which the help is assembled) and its styles (a value set with
// SetStyles, picked from one theme). The Model routes messages by mode, as
// bubbles' list does: typing a search (handlePrompt), an overlay open
// (handleOverlay), browsing the views (handleBrowsing). Where things go:
//
//   - a filter toggle: a toggleID and its entry in defaultToggles
//     (toggles.go: keys, labels, how a key changes the filter, the value
//     shown); its predicate is a field of triage.Filter, which filterState
//     embeds. Key handling, help and status bar follow from the entry.
//   - a main view: a viewKind, its tab title and its component in viewPane,
//     what it selects in selection (views.go), its one-line help in
//     shortHelp (keys.go); the component is a view (a pane that counts
//     rows).
//   - an overlay: an overlayKind, its title, its component in overlayPaneOf
//     and its key in overlayKey (overlays.go); the component is a pane
//     (SetSize, View, update).
//   - a key of the screen: a field of keyMap, its default and its place in
//     shortHelp/fullHelp (keys.go), its case in handleBrowsing (model.go).
//
// All work proportional to the data (loading, filtering, sorting, searching,
// exporting) runs in tea.Cmds; a keypress only touches what is on screen.
// Time comes from Config.Now and Config.After, which tests drive. Every
// string that comes from evidence goes through termsafe.Clean before it
// is drawn.
package tui
