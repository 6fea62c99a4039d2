package proxy

import (
	"errors"
	"fmt"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers of the fan-out convention of api/common/common.proto: field
// 1 of a unary response is `repeated Item messages`; field 1 of an item and
// of a streamed message is `common.Metadata metadata`, whose node is field 1
// and error field 2.
const (
	itemsField    protowire.Number = 1
	metadataField protowire.Number = 1
	nodeField     protowire.Number = 1
	errorField    protowire.Number = 2
)

// errConvention is wrapped by errors about responses that do not follow the
// fan-out convention.
var errConvention = errors.New("response does not follow the fan-out convention (field 1: repeated items)")

// TagMessage returns a copy of msg, an item of a unary response or a
// streamed message, whose metadata.node is node. It appends an encoded
// Metadata{node} as field 1: protobuf merges repeated occurrences of an
// embedded message, so the node is set and every other field, including an
// existing metadata.error, is kept.
func TagMessage(msg []byte, node string) []byte {
	out := make([]byte, 0, len(msg)+len(node)+4)
	out = append(out, msg...)
	return appendMetadata(out, node, "")
}

// ErrorMessage returns an item (or streamed message) that holds only
// metadata with node and the error's message: what a failed node
// contributes to a fanned-out response.
func ErrorMessage(node string, err error) []byte {
	msg := err.Error()
	if s, ok := status.FromError(err); ok {
		msg = s.Message()
		if s.Code() != codes.Unknown {
			msg = s.Code().String() + ": " + msg
		}
	}
	return appendMetadata(nil, node, msg)
}

// appendMetadata appends field 1 holding Metadata{node, error} to b.
func appendMetadata(b []byte, node, errMsg string) []byte {
	var md []byte
	if node != "" {
		md = protowire.AppendTag(md, nodeField, protowire.BytesType)
		md = protowire.AppendString(md, node)
	}
	if errMsg != "" {
		md = protowire.AppendTag(md, errorField, protowire.BytesType)
		md = protowire.AppendString(md, errMsg)
	}
	b = protowire.AppendTag(b, metadataField, protowire.BytesType)
	return protowire.AppendBytes(b, md)
}

// TagItems returns a copy of the unary response resp in which every item
// of field 1 has metadata.node set to node; other fields are kept as they
// are.
func TagItems(resp []byte, node string) ([]byte, error) {
	out := make([]byte, 0, len(resp)+16)
	return walkItems(resp, node, out, true)
}

// walkItems appends to out the tagged items of resp and, when keepOther is
// set, its other fields unchanged.
func walkItems(resp []byte, node string, out []byte, keepOther bool) ([]byte, error) {
	for len(resp) > 0 {
		num, typ, n := protowire.ConsumeTag(resp)
		if n < 0 {
			return nil, fmt.Errorf("decode response: %w", protowire.ParseError(n))
		}
		size := protowire.ConsumeFieldValue(num, typ, resp[n:])
		if size < 0 {
			return nil, fmt.Errorf("decode response field %d: %w", num, protowire.ParseError(size))
		}
		field := resp[:n+size]
		resp = resp[n+size:]
		if num != itemsField {
			if keepOther {
				out = append(out, field...)
			}
			continue
		}
		if typ != protowire.BytesType {
			return nil, fmt.Errorf("field %d has wire type %d: %w", num, typ, errConvention)
		}
		item, _ := protowire.ConsumeBytes(field[n:])
		out = protowire.AppendTag(out, itemsField, protowire.BytesType)
		out = protowire.AppendVarint(out, uint64(len(item)+metadataSize(node)))
		out = append(out, item...)
		out = appendMetadata(out, node, "")
	}
	return out, nil
}

// metadataSize is the encoded size of appendMetadata(nil, node, "").
func metadataSize(node string) int {
	inner := 0
	if node != "" {
		inner = protowire.SizeTag(nodeField) + protowire.SizeBytes(len(node))
	}
	return protowire.SizeTag(metadataField) + protowire.SizeBytes(inner)
}

// NodeResult is one node's answer to a fanned-out unary call.
type NodeResult struct {
	// Node names the node as the caller did.
	Node string
	// Response is the encoded response when Err is nil.
	Response []byte
	// Err is the call's error.
	Err error
}

// MergeUnary merges the responses of several nodes into one response of
// the same type: the items of each node's response, in the order of
// results, each tagged with its node, and one error item for each node
// that failed. Fields of the responses other than the items are dropped.
// When every node failed, it returns an error naming each node's error.
func MergeUnary(results []NodeResult) ([]byte, error) {
	var out []byte
	failed := 0
	for _, r := range results {
		if r.Err == nil {
			merged, err := walkItems(r.Response, r.Node, out, false)
			if err == nil {
				out = merged
				continue
			}
			r.Err = status.Errorf(codes.Internal, "node %s: %v", r.Node, err)
		}
		failed++
		out = protowire.AppendTag(out, itemsField, protowire.BytesType)
		out = protowire.AppendBytes(out, ErrorMessage(r.Node, r.Err))
	}
	if failed > 0 && failed == len(results) {
		return nil, allFailed(results)
	}
	return out, nil
}

// allFailed returns the error of a call that failed on every node: the
// common code of the node errors if they share one, else Unavailable.
func allFailed(results []NodeResult) error {
	code := status.Code(results[0].Err)
	msgs := make([]string, 0, len(results))
	for _, r := range results {
		if c := status.Code(r.Err); c != code {
			code = codes.Unavailable
		}
		msgs = append(msgs, r.Node+": "+r.Err.Error())
	}
	return status.Errorf(code, "call failed on every node: %s", strings.Join(msgs, "; "))
}
