package optim

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"sort"
)

// Saved optimizer state format (little-endian):
//
//	bytes 0-7   magic "GTOPTIM1"
//	bytes 8-11  uint32 header length H
//	next H      JSON header: {"kind": "adam"|"sgd"|"adagrad", "config": {...},
//	            "steps": t, "slots": [{"name": "dense/kernel", "count": 2, "len": 1280}, ...]}
//	            with slots sorted by name
//	rest        for each slot in header order, count vectors of len float32s
//	            (Adam: m then v; SGD: velocity; Adagrad: accumulated g²)
//
// LoadState checks the magic, kind and every length before touching the
// optimizer, and never panics on malformed input.

const stateMagic = "GTOPTIM1"

type slotHeader struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
	Len   int    `json:"len"`
}

type stateHeader struct {
	Kind   string          `json:"kind"`
	Config json.RawMessage `json:"config"`
	Steps  int64           `json:"steps"`
	Slots  []slotHeader    `json:"slots"`
}

func encodeState(kind string, config any, steps int64, s slots) ([]byte, error) {
	cfg, err := json.Marshal(config)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(s))
	for n := range s {
		names = append(names, n)
	}
	sort.Strings(names)
	h := stateHeader{Kind: kind, Config: cfg, Steps: steps}
	for _, n := range names {
		h.Slots = append(h.Slots, slotHeader{Name: n, Count: len(s[n]), Len: len(s[n][0])})
	}
	hdr, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.WriteString(stateMagic)
	binary.Write(&buf, binary.LittleEndian, uint32(len(hdr)))
	buf.Write(hdr)
	for _, n := range names {
		for _, vec := range s[n] {
			b := make([]byte, 4*len(vec))
			for i, v := range vec {
				binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
			}
			buf.Write(b)
		}
	}
	return buf.Bytes(), nil
}

func decodeState(data []byte, kind string, config any) (steps int64, s slots, err error) {
	if len(data) < 12 || string(data[:8]) != stateMagic {
		return 0, nil, fmt.Errorf("optim: state is not a %s blob", stateMagic)
	}
	hl := int(binary.LittleEndian.Uint32(data[8:12]))
	if hl > len(data)-12 {
		return 0, nil, fmt.Errorf("optim: state header length %d exceeds the %d bytes present", hl, len(data)-12)
	}
	var h stateHeader
	if err := json.Unmarshal(data[12:12+hl], &h); err != nil {
		return 0, nil, fmt.Errorf("optim: state header: %w", err)
	}
	if h.Kind != kind {
		return 0, nil, fmt.Errorf("optim: state is for %q, not %q", h.Kind, kind)
	}
	if err := json.Unmarshal(h.Config, config); err != nil {
		return 0, nil, fmt.Errorf("optim: state config: %w", err)
	}
	rest := data[12+hl:]
	s = slots{}
	for _, sh := range h.Slots {
		if sh.Count <= 0 || sh.Len < 0 || sh.Count > 16 || sh.Len > len(rest)/4 {
			return 0, nil, fmt.Errorf("optim: state slot %q: bad count %d or length %d", sh.Name, sh.Count, sh.Len)
		}
		if _, dup := s[sh.Name]; dup {
			return 0, nil, fmt.Errorf("optim: state slot %q appears twice", sh.Name)
		}
		vecs := make([][]float32, sh.Count)
		for c := range vecs {
			if len(rest) < 4*sh.Len {
				return 0, nil, fmt.Errorf("optim: state truncated in slot %q", sh.Name)
			}
			v := make([]float32, sh.Len)
			for i := range v {
				v[i] = math.Float32frombits(binary.LittleEndian.Uint32(rest[4*i:]))
			}
			vecs[c] = v
			rest = rest[4*sh.Len:]
		}
		s[sh.Name] = vecs
	}
	if len(rest) != 0 {
		return 0, nil, fmt.Errorf("optim: %d trailing bytes after state", len(rest))
	}
	return h.Steps, s, nil
}

// State serialises SGD's config, step count and velocities.
func (o *SGD) State() ([]byte, error) { return encodeState("sgd", o.cfg, o.steps, o.state) }

// LoadState restores what State saved (config included).
func (o *SGD) LoadState(b []byte) error {
	var cfg SGDConfig
	steps, s, err := decodeState(b, "sgd", &cfg)
	if err != nil {
		return err
	}
	o.cfg, o.steps, o.state = cfg, steps, s
	return nil
}

// State serialises Adam's config, step count and moments.
func (o *Adam) State() ([]byte, error) { return encodeState("adam", o.cfg, o.steps, o.state) }

// LoadState restores what State saved (config included).
func (o *Adam) LoadState(b []byte) error {
	var cfg AdamConfig
	steps, s, err := decodeState(b, "adam", &cfg)
	if err != nil {
		return err
	}
	o.cfg, o.steps, o.state = cfg, steps, s
	return nil
}
