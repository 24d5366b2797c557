// The drawing page: a canvas drawn on with Pointer Events, sent to the predictor through nginx (/api/).
"use strict";

const PEN_WIDTH = 18; // in CSS pixels of a 280-pixel canvas: close to MNIST's stroke-to-digit ratio
const canvas = document.getElementById("canvas");
const context = canvas.getContext("2d");
const predictButton = document.getElementById("predict");
const clearButton = document.getElementById("clear");
const autoPredict = document.getElementById("auto");
const statusBox = document.getElementById("status");
const predictionBox = document.getElementById("prediction");
const bars = document.getElementById("probabilities");
const seen = document.getElementById("seen");
const seenImage = document.getElementById("seen-image");
const modelLine = document.getElementById("model");
const feedbackForm = document.getElementById("feedback");
const feedbackYes = document.getElementById("feedback-yes");
const feedbackDigits = document.getElementById("feedback-digits");
const feedbackStatus = document.getElementById("feedback-status");

let hasInk = false;
let drawing = false;
let points = [];
let lastPrediction = null; // {id, digit} of the answer on screen, for the feedback buttons

// Crisp on high-DPI screens: the bitmap has devicePixelRatio times the CSS pixels.
function setUpCanvas() {
  const ratio = window.devicePixelRatio || 1;
  const cssSize = canvas.getBoundingClientRect().width || 280;
  canvas.width = Math.round(cssSize * ratio);
  canvas.height = Math.round(cssSize * ratio);
  context.setTransform(canvas.width / cssSize, 0, 0, canvas.height / cssSize, 0, 0);
  context.lineCap = "round";
  context.lineJoin = "round";
  context.strokeStyle = "#111";
  context.fillStyle = "#111";
  context.lineWidth = PEN_WIDTH * (cssSize / 280);
  hasInk = false;
}

function position(event) {
  const box = canvas.getBoundingClientRect();
  return { x: event.clientX - box.left, y: event.clientY - box.top };
}

// Smooth strokes: a quadratic curve through the midpoints of the last points.
function drawSegment() {
  const n = points.length;
  if (n === 1) {
    context.beginPath();
    context.arc(points[0].x, points[0].y, context.lineWidth / 2, 0, 2 * Math.PI);
    context.fill();
    return;
  }
  const a = points[n - 3] || points[n - 2];
  const b = points[n - 2];
  const c = points[n - 1];
  context.beginPath();
  context.moveTo((a.x + b.x) / 2, (a.y + b.y) / 2);
  context.quadraticCurveTo(b.x, b.y, (b.x + c.x) / 2, (b.y + c.y) / 2);
  context.stroke();
}

canvas.addEventListener("pointerdown", (event) => {
  event.preventDefault();
  canvas.setPointerCapture(event.pointerId);
  drawing = true;
  hasInk = true;
  points = [position(event)];
  drawSegment();
});
canvas.addEventListener("pointermove", (event) => {
  if (!drawing) return;
  const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
  for (const item of events.length ? events : [event]) {
    points.push(position(item));
    drawSegment();
  }
});
function endStroke() {
  if (!drawing) return;
  drawing = false;
  if (points.length > 1) {
    const last = points[points.length - 1];
    context.beginPath();
    const before = points[points.length - 2];
    context.moveTo((before.x + last.x) / 2, (before.y + last.y) / 2);
    context.lineTo(last.x, last.y);
    context.stroke();
  }
  points = [];
  if (autoPredict.checked) predict();
}
canvas.addEventListener("pointerup", endStroke);
canvas.addEventListener("pointercancel", endStroke);

function clearAll() {
  context.save();
  context.setTransform(1, 0, 0, 1, 0, 0);
  context.clearRect(0, 0, canvas.width, canvas.height);
  context.restore();
  hasInk = false;
  predictionBox.textContent = "";
  bars.replaceChildren();
  seen.hidden = true;
  modelLine.textContent = "";
  hideFeedback();
  say("");
}

function say(message, isError = false) {
  statusBox.textContent = message;
  statusBox.classList.toggle("error", isError);
}

function showPrediction(body) {
  predictionBox.replaceChildren();
  const digit = document.createElement("span");
  digit.className = "digit";
  digit.textContent = String(body.digit);
  const words = document.createElement("span");
  words.textContent = `I think this is a ${body.digit} (${(body.confidence * 100).toFixed(1)} % sure)`;
  predictionBox.append(digit, words);

  bars.replaceChildren(
    ...body.probabilities.map((p, d) => {
      const item = document.createElement("li");
      if (d === body.digit) item.className = "top";
      const label = document.createElement("span");
      label.textContent = String(d);
      const track = document.createElement("span");
      track.className = "track";
      const fill = document.createElement("span");
      fill.className = "fill";
      fill.style.width = `${(p * 100).toFixed(1)}%`;
      track.append(fill);
      const value = document.createElement("span");
      value.textContent = `${(p * 100).toFixed(1)} %`;
      item.setAttribute("aria-label", `${d}: ${(p * 100).toFixed(1)} percent`);
      item.append(label, track, value);
      return item;
    }),
  );
  if (body.input_image) {
    seenImage.src = body.input_image;
    seen.hidden = false;
  }
  modelLine.textContent = `Model: ${body.model.name} version ${body.model.version} (@${body.model.alias})`;
  showFeedback(body);
}

// "Right?": ✓ confirms the answer, a digit button corrects it; either is sent to /api/feedback.
for (let d = 0; d <= 9; d += 1) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "secondary";
  button.textContent = String(d);
  button.dataset.digit = String(d);
  button.setAttribute("aria-label", `It is a ${d}`);
  button.addEventListener("click", () => sendFeedback(d));
  feedbackDigits.append(button);
}
feedbackYes.addEventListener("click", () => lastPrediction && sendFeedback(lastPrediction.digit));

function showFeedback(body) {
  lastPrediction = body.prediction_id ? { id: body.prediction_id, digit: body.digit } : null;
  feedbackForm.hidden = lastPrediction === null;
  setFeedbackEnabled(true);
  tellFeedback("");
}

function hideFeedback() {
  lastPrediction = null;
  feedbackForm.hidden = true;
  tellFeedback("");
}

function setFeedbackEnabled(enabled) {
  for (const button of feedbackForm.querySelectorAll("button")) button.disabled = !enabled;
}

function tellFeedback(message, isError = false) {
  feedbackStatus.textContent = message;
  feedbackStatus.classList.toggle("error", isError);
}

async function sendFeedback(label) {
  if (!lastPrediction) return;
  const { id, digit } = lastPrediction;
  setFeedbackEnabled(false);
  tellFeedback("Saving…");
  try {
    const response = await fetch("/api/feedback", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ prediction_id: id, label }),
    });
    const body = await response.json().catch(() => ({}));
    if (response.ok) {
      const digitWords = `${label === 8 ? "an" : "a"} ${label}`;
      const what = label === digit ? `Thanks: confirmed as ${digitWords}.` : `Thanks: saved as ${digitWords}.`;
      tellFeedback(`${what} It helps the next model learn.`);
    } else if (body.error === "unknown_prediction") {
      tellFeedback("This prediction is no longer known, so the answer was not saved. Draw it again?", true);
    } else if (body.error === "feedback_unavailable" || response.status >= 502) {
      tellFeedback("Your answer could not be saved right now. Try again in a moment.", true);
    } else {
      tellFeedback(body.message || `Your answer could not be saved (HTTP ${response.status}).`, true);
    }
  } catch (error) {
    tellFeedback("Your answer could not be saved right now. Try again in a moment.", true);
  } finally {
    setFeedbackEnabled(true);
  }
}

async function predict() {
  if (!hasInk) {
    say("The canvas is empty: draw a digit first.");
    return;
  }
  predictButton.disabled = true;
  hideFeedback();
  say("Reading your digit…");
  try {
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
    const form = new FormData();
    form.append("image", blob, "digit.png");
    const response = await fetch("/api/predict?debug=1", { method: "POST", body: form });
    const body = await response.json().catch(() => ({}));
    if (response.ok) {
      say("");
      showPrediction(body);
    } else if (body.error === "empty_image") {
      say("The canvas is empty: draw a digit first.");
    } else if (body.error === "model_unavailable") {
      say(`No model is ready yet. ${body.message || "Run `docker compose run --rm trainer`."}`, true);
    } else if (body.error === "predictor_unavailable" || response.status >= 502) {
      say("The prediction service cannot be reached right now. Try again in a moment.", true);
    } else {
      say(body.message || `The prediction failed (HTTP ${response.status}).`, true);
    }
  } catch (error) {
    say("The prediction service cannot be reached right now. Try again in a moment.", true);
  } finally {
    predictButton.disabled = false;
  }
}

predictButton.addEventListener("click", predict);
clearButton.addEventListener("click", () => {
  clearAll();
  canvas.focus();
});
document.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !(event.target instanceof HTMLButtonElement)) {
    event.preventDefault();
    predict();
  } else if (event.key === "Escape") {
    clearAll();
  }
});

// The MLflow UI's address comes from nginx (MLFLOW_UI_URL), not from this file.
fetch("/config.json")
  .then((response) => (response.ok ? response.json() : {}))
  .then((config) => {
    if (config.mlflowUrl) document.getElementById("mlflow-link").href = config.mlflowUrl;
  })
  .catch(() => {});

setUpCanvas();
