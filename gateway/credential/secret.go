package credential

import "log/slog"

// Secret is a token or client secret. It prints, logs and marshals as
// [redacted] so that it cannot leak through fmt, slog or JSON by accident.
type Secret string

const redacted = "[redacted]"

// Reveal returns the secret's text, for the one place that sends it.
func (s Secret) Reveal() string { return string(s) }

// String implements fmt.Stringer with a redacted text.
func (Secret) String() string { return redacted }

// GoString implements fmt.GoStringer (%#v) with a redacted text.
func (Secret) GoString() string { return `credential.Secret("` + redacted + `")` }

// LogValue implements slog.LogValuer.
func (Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON writes "[redacted]".
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText writes [redacted] (YAML and other text encoders).
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }
