package tui

import (
	"unicode/utf8"

	tea "charm.land/bubbletea/v2"

	"github.com/evtriage/evtriage/internal/termsafe"
)

// maxPrompt bounds what can be typed (or pasted) into the search prompt.
const maxPrompt = 256

// prompt is the one-line search input. It is small on purpose: typing,
// pasting, backspace, ctrl+w (word) and ctrl+u (line).
type prompt struct {
	Prefix string
	value  []rune
}

// Value returns the text typed.
func (p prompt) Value() string { return string(p.value) }

// SetValue replaces the text.
func (p *prompt) SetValue(s string) { p.value = nil; p.insert(s) }

func (p *prompt) insert(s string) {
	for _, r := range s {
		if len(p.value) >= maxPrompt {
			return
		}
		if r == utf8.RuneError || r < 0x20 || r == 0x7f {
			continue // no control characters in a query
		}
		p.value = append(p.value, r)
	}
}

// Update edits the text.
func (p prompt) Update(msg tea.Msg) prompt {
	switch msg := msg.(type) {
	case tea.PasteMsg:
		p.insert(msg.Content)
	case tea.KeyPressMsg:
		switch msg.String() {
		case "backspace", "ctrl+h":
			if len(p.value) > 0 {
				p.value = p.value[:len(p.value)-1]
			}
		case "ctrl+u":
			p.value = nil
		case "ctrl+w":
			i := len(p.value)
			for i > 0 && p.value[i-1] == ' ' {
				i--
			}
			for i > 0 && p.value[i-1] != ' ' {
				i--
			}
			p.value = p.value[:i]
		default:
			if msg.Text != "" && msg.Mod&^tea.ModShift == 0 {
				p.insert(msg.Text)
			}
		}
	}
	return p
}

// View renders the prompt with a block cursor.
func (p prompt) View() string { return p.Prefix + termsafe.Clean(string(p.value)) + "█" }
