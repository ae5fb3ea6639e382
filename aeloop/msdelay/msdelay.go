// Package msdelay is a vet check for the trap a port of C ae code falls
// into: ae counts delays in milliseconds, aeloop in time.Duration, which is
// nanoseconds, and an untyped constant is a valid time.Duration. So
//
//	l.AddTimer(RECORD_INTERVAL_MS, recordRate, t, nil) // ae: 100 ms
//	return RECORD_INTERVAL_MS                          // in a TimeProc
//
// compile and mean 100 ns: the timer runs a million times more often than
// the C program's. The Analyzer reports every untyped numeric constant
// above 0 that is passed as a time.Duration parameter of a function or
// method of packages aeloop, anet and mux (AddTimer's delay, Wait's
// timeout, TCPConnectTimeout's timeout, KeepAlive's interval, a Poller's
// Wait timeout, WaitFd's), or returned by a
// function with TimeProc's signature, and suggests the fix: N *
// time.Millisecond (N * time.Second for KeepAlive, whose anet.c original
// takes seconds). It stays silent on typed expressions (100 *
// time.Millisecond, a constant declared as time.Duration, aeloop.NoMore),
// on 0, and on negative constants, which mean the same in any unit (due
// now, no time limit, or AE_NOMORE's -1, which is aeloop.NoMore's value
// too).
//
// Run it with its command: go vet -vettool=$(which aeloopvet) ./...
// (go install github.com/aemux/mux/cmd/aeloopvet first).
package msdelay

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/constant"
	"go/format"
	"go/token"
	"go/types"
	"strconv"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/passes/inspect"
	"golang.org/x/tools/go/ast/inspector"
	"golang.org/x/tools/go/types/typeutil"
)

// The packages whose time.Duration parameters are checked.
const (
	muxPath    = "github.com/aemux/mux"
	aeloopPath = muxPath + "/aeloop"
	anetPath   = muxPath + "/anet"
)

// Analyzer reports untyped constants used as aeloop, anet and mux delays.
var Analyzer = &analysis.Analyzer{
	Name:     "msdelay",
	Doc:      "report untyped constants used as aeloop/anet/mux delays: they are nanoseconds, not ae's milliseconds",
	Requires: []*analysis.Analyzer{inspect.Analyzer},
	Run:      run,
}

func run(pass *analysis.Pass) (any, error) {
	ins := pass.ResultOf[inspect.Analyzer].(*inspector.Inspector)
	timeProc := timeProcSignature(pass.Pkg)
	nodes := []ast.Node{(*ast.CallExpr)(nil), (*ast.FuncDecl)(nil), (*ast.FuncLit)(nil)}
	ins.WithStack(nodes, func(n ast.Node, push bool, stack []ast.Node) bool {
		if !push {
			return true
		}
		switch n := n.(type) {
		case *ast.CallExpr:
			checkCall(pass, n, fileOf(stack))
		case *ast.FuncDecl:
			if n.Body != nil && isTimeProc(pass, timeProc, pass.TypesInfo.Defs[n.Name]) {
				checkReturns(pass, n.Body, fileOf(stack))
			}
		case *ast.FuncLit:
			if timeProc != nil && types.Identical(pass.TypesInfo.TypeOf(n), timeProc) {
				checkReturns(pass, n.Body, fileOf(stack))
			}
		}
		return true
	})
	return nil, nil
}

// timeProcSignature returns aeloop.TimeProc's underlying signature when
// pkg is aeloop or imports it, else nil.
func timeProcSignature(pkg *types.Package) *types.Signature {
	look := func(p *types.Package) *types.Signature {
		if p.Path() != aeloopPath {
			return nil
		}
		if tn, ok := p.Scope().Lookup("TimeProc").(*types.TypeName); ok {
			sig, _ := tn.Type().Underlying().(*types.Signature)
			return sig
		}
		return nil
	}
	if sig := look(pkg); sig != nil {
		return sig
	}
	for _, p := range pkg.Imports() {
		if sig := look(p); sig != nil {
			return sig
		}
	}
	return nil
}

func isTimeProc(pass *analysis.Pass, timeProc *types.Signature, obj types.Object) bool {
	fn, ok := obj.(*types.Func)
	if !ok || timeProc == nil {
		return false
	}
	sig := fn.Type().(*types.Signature)
	// Compare without the receiver: a method value can be a TimeProc.
	plain := types.NewSignatureType(nil, nil, nil, sig.Params(), sig.Results(), sig.Variadic())
	return types.Identical(plain, timeProc)
}

// checkCall checks the time.Duration arguments of a call into aeloop,
// anet or mux.
func checkCall(pass *analysis.Pass, call *ast.CallExpr, file *ast.File) {
	fn, ok := typeutil.Callee(pass.TypesInfo, call).(*types.Func)
	if !ok || fn.Pkg() == nil {
		return
	}
	switch fn.Pkg().Path() {
	case muxPath, aeloopPath, anetPath:
	default:
		return
	}
	sig := fn.Type().(*types.Signature)
	params := sig.Params()
	for i, arg := range call.Args {
		pi := i
		if sig.Variadic() && pi >= params.Len()-1 {
			continue // no aeloop or anet function takes ...time.Duration
		}
		if pi >= params.Len() || !isDuration(params.At(pi).Type()) {
			continue
		}
		unit, unitName := "Millisecond", "milliseconds"
		if fn.Pkg().Path() == anetPath && fn.Name() == "KeepAlive" {
			unit, unitName = "Second", "seconds"
		}
		what := fmt.Sprintf("%s's %s", fn.Name(), params.At(pi).Name())
		report(pass, file, arg, what, unit, unitName)
	}
}

// checkReturns checks the results a TimeProc returns, skipping nested
// function literals (checked on their own if they are TimeProcs).
func checkReturns(pass *analysis.Pass, body *ast.BlockStmt, file *ast.File) {
	ast.Inspect(body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncLit:
			return false
		case *ast.ReturnStmt:
			if len(n.Results) == 1 {
				report(pass, file, n.Results[0], "a TimeProc's delay", "Millisecond", "milliseconds")
			}
		}
		return true
	})
}

// report flags e if it is an untyped numeric constant above 0. Zero and
// negative delays mean the same in any unit: due now, no limit, or (-1
// from a TimeProc) AE_NOMORE, which is aeloop.NoMore's value too.
func report(pass *analysis.Pass, file *ast.File, e ast.Expr, what, unit, unitName string) {
	v := untypedValue(pass, e)
	if v == nil || constant.Sign(v) <= 0 {
		return
	}
	var buf bytes.Buffer
	if err := format.Node(&buf, pass.Fset, e); err != nil {
		return
	}
	text := buf.String()
	if _, isBin := ast.Unparen(e).(*ast.BinaryExpr); isBin {
		text = "(" + text + ")"
	}
	timeName, edits := timeImport(file)
	fixed := text + " * " + timeName + "." + unit
	edits = append(edits, analysis.TextEdit{Pos: e.Pos(), End: e.End(), NewText: []byte(fixed)})
	pass.Report(analysis.Diagnostic{
		Pos: e.Pos(),
		End: e.End(),
		Message: fmt.Sprintf("untyped constant %s as %s is %s nanoseconds, not %s as in ae: write %s",
			buf.String(), what, v.ExactString(), unitName, fixed),
		SuggestedFixes: []analysis.SuggestedFix{{
			Message:   "multiply by time." + unit,
			TextEdits: edits,
		}},
	})
}

// untypedValue returns e's constant value if e is an untyped numeric
// constant expression (a literal, an untyped named constant, or an
// expression of those), else nil. The type checker records such an
// argument with the type it was converted to, so the untyped-ness is
// found in the expression itself.
func untypedValue(pass *analysis.Pass, e ast.Expr) constant.Value {
	tv, ok := pass.TypesInfo.Types[e]
	if !ok || tv.Value == nil || !untyped(pass, e) {
		return nil
	}
	switch tv.Value.Kind() {
	case constant.Int, constant.Float:
		return tv.Value
	}
	return nil
}

func untyped(pass *analysis.Pass, e ast.Expr) bool {
	switch e := ast.Unparen(e).(type) {
	case *ast.BasicLit:
		return e.Kind == token.INT || e.Kind == token.FLOAT || e.Kind == token.CHAR
	case *ast.Ident:
		return untypedConst(pass.TypesInfo.Uses[e])
	case *ast.SelectorExpr:
		return untypedConst(pass.TypesInfo.Uses[e.Sel])
	case *ast.UnaryExpr:
		return untyped(pass, e.X)
	case *ast.BinaryExpr:
		return untyped(pass, e.X) && untyped(pass, e.Y)
	}
	return false // conversions, calls: typed
}

func untypedConst(obj types.Object) bool {
	c, ok := obj.(*types.Const)
	if !ok {
		return false
	}
	b, ok := c.Type().(*types.Basic)
	return ok && b.Info()&types.IsUntyped != 0
}

func isDuration(t types.Type) bool {
	n, ok := t.(*types.Named)
	return ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == "time" && n.Obj().Name() == "Duration"
}

// timeImport returns the name under which file imports package time and,
// if it does not, the edit that adds the import.
func timeImport(file *ast.File) (string, []analysis.TextEdit) {
	for _, imp := range file.Imports {
		if path, _ := strconv.Unquote(imp.Path.Value); path == "time" {
			if imp.Name != nil && imp.Name.Name != "_" && imp.Name.Name != "." {
				return imp.Name.Name, nil
			}
			if imp.Name == nil {
				return "time", nil
			}
		}
	}
	end := file.Name.End()
	return "time", []analysis.TextEdit{{Pos: end, End: end, NewText: []byte("\n\nimport \"time\"")}}
}

func fileOf(stack []ast.Node) *ast.File {
	f, _ := stack[0].(*ast.File)
	return f
}
