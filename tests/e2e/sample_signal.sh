#!/bin/sh
# GridSample / RoiAlign / DFT / STFT / MelWeightMatrix forms beyond the backend test data
#: models and torch / numpy references made by tests/tools/sample_signal.py, converted
# to fp32 bundles, run through the CLI, and compared with the references and, when the oracle is
# installed, with ONNX Runtime on the same model (RoiAlign's max mode has no other reference);
# plus a torch-exported flow warp (GridSample), a torchvision roi_align head and a log-mel front
# end (STFT + MelWeightMatrix), judged by PSNR >= 80 dB.
# Tolerances: rtol 1e-4 / atol 1e-5 per element for the op forms (see compare() in the script).
set -eu
. "$(dirname "$0")/lib/common.sh"
have_torch || exit $SKIP
"$PY" -W ignore tests/tools/sample_signal.py make "$T/cases"
for d in "$T"/cases/*; do
    "$AF" convert "$d/model.onnx" -o "$d/m.afb" --compress fp32 -q
    "$AF" run "$d/m.afb" --inputs "$d/inputs" --outputs "$d/outputs" >/dev/null
    if have_oracle; then
        node "$ORACLE" "$d/model.onnx" "$d/inputs" "$d/ort" >/dev/null
    fi
done
"$PY" tests/tools/sample_signal.py check "$T/cases"
# what convert refuses: exit 3, one line naming the node and the problem
"$PY" tests/tools/sample_signal.py bad "$T"
expect 3 "node 'gs' (GridSample): mode 'area' is not supported" -- "$AF" convert "$T/bad/gridsample_area.onnx" -o "$T/x.afb"
expect 3 "node 'dft' (DFT): a onesided inverse DFT is not supported" -- "$AF" convert "$T/bad/dft_onesided_inverse.onnx" -o "$T/x.afb"
expect 3 "node 'stft' (stft): the frame_step input 'step' is not a constant" -- "$AF" convert "$T/bad/stft_step_input.onnx" -o "$T/x.afb"
[ "$fails" -eq 0 ]
