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
//     (SetSize, View, update). An overlay one types into (the mark's note,
//     the filter rules' folder) takes every key but esc and enter, which
//     handleOverlay turns into cancel and done.
//   - something the analyst decides (marks, false-positive filters): the
//     case (verdicts.go: caseState, an immutable triage.Case replaced on
//     each change and written to the case file in a tea.Cmd), shown
//     through a markLookup the components are given.
//   - a key of the screen: a field of keyMap, its default and its place in
//     shortHelp/fullHelp (keys.go), its case in handleBrowsing (model.go).
//   - a column of the findings table: a column, its header in
//     column.String, its cell in renderRow (findings.go) and its place in
//     layout (columns.go), which sizes the columns by their content and
//     drops the least useful ones first at narrow widths.
//   - a line of the detail pane: detailWriter.field (a value { } select
//     and y copies, fields.go and copy.go) or text; an activity kind's
//     list follows triage's kinds table (EventKind.Fields).
//   - a file the screen writes: through writeFile (copy.go), so that q
//     waits for it and quitting or a signal abandons it, no temporary
//     file left behind.
//
// Loading (load.go) runs one triage.Hunter in the background: snapshots
// (Hunter.Snapshot, built as the work done grows, offered on a clock and
// after each input), then Finish; the screen lets go of its last snapshot
// while Finish builds the final Result. Until the user moves, the lists'
// cursors stay on their first row; then on the user's row. The tree shows
// one row per host for the processes known only from their activity
// (made Process values only when shown) and one for the stubs without
// image or PID (tree.go).
//
// All work proportional to the data (loading, filtering, sorting, searching,
// exporting) runs in tea.Cmds; a keypress only touches what is on screen.
// Time comes from Config.Now and Config.After, which tests drive. Every
// string that comes from evidence goes through termsafe.Clean before it
// is drawn.
package tui
