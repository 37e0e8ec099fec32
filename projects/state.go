package projects

import "fmt"

// State says where the key that signs launchwarden's state tags lives
// (the [state] table of launchwarden.toml). The key never appears in the
// config: key_env names an environment variable, key_file a file.
//
//	[state]
//	key_env = "LAUNCHWARDEN_STATE_KEY"
//	previous_keys = [{ key_env = "LAUNCHWARDEN_STATE_KEY_OLD" }]
//
// previous_keys still verify (so a rotation does not make every notice,
// extension and keep count as absent at once) but never sign.
type State struct {
	Key          SecretRef
	PreviousKeys []SecretRef
}

// MinStateKeyBytes is the shortest state key accepted: 32 bytes.
const MinStateKeyBytes = 32

// StateKeys resolves the current and previous state keys. A missing, short
// or unreadable key is an error naming the reference, never the secret:
// run, plan, serve, extend and adopt need the key, validate does not.
func (s State) StateKeys(getenv func(string) string) (current []byte, previous [][]byte, err error) {
	if s.Key.IsZero() {
		return nil, nil, fmt.Errorf(`launchwarden.toml has no [state] key: add [state] key_env = "LAUNCHWARDEN_STATE_KEY" (or key_file) naming a secret of at least %d bytes`, MinStateKeyBytes)
	}
	resolve := func(what string, ref SecretRef) ([]byte, error) {
		v, err := ref.Resolve(getenv)
		if err != nil {
			return nil, fmt.Errorf("%s (%s): %w", what, ref, err)
		}
		if len(v) < MinStateKeyBytes {
			return nil, fmt.Errorf("%s (%s) is %d bytes; it must be at least %d (e.g. 'openssl rand -hex 32')", what, ref, len(v), MinStateKeyBytes)
		}
		return []byte(v), nil
	}
	if current, err = resolve("state key", s.Key); err != nil {
		return nil, nil, err
	}
	for i, ref := range s.PreviousKeys {
		k, err := resolve(fmt.Sprintf("previous state key %d", i+1), ref)
		if err != nil {
			return nil, nil, err
		}
		previous = append(previous, k)
	}
	return current, previous, nil
}

// decodeState reads the [state] table.
func decodeState(t table) State {
	t.known("key_env", "key_file", "previous_keys", "key")
	if t.has("key") {
		t.d.report(t.keyPath("key"), "use key_env or key_file to name where the key is", "secrets must not be written in the config repo")
	}
	s := State{Key: decodeSecretRef(t, "key_env", "key_file", true)}
	list, _ := t.list("previous_keys")
	for _, pt := range list {
		pt.known("key_env", "key_file")
		if ref := decodeSecretRef(pt, "key_env", "key_file", true); !ref.IsZero() {
			s.PreviousKeys = append(s.PreviousKeys, ref)
		}
	}
	return s
}
