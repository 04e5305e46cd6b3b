"""What the model engine says to a person, in the conversation's language (English, Korean)."""

from __future__ import annotations

from typing import Any

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "fallback": "The model could not answer ({step}: {why}); archops' offline engine answered that step.",
        "fallback.part": "The model could not write a part ({step}: {why}); it is left out and listed under Not built.",
        "budget": "this conversation's model token budget ({budget:,}) is spent",
        "extra.not_clean": "the model's Terraform for it did not pass archops' review after {rounds} repair round(s): {problem}",
        "extra.no_model": "the model could not write its Terraform ({why})",
        "extra.note": "`{file}` ({title}) was written by the model `{model}` for what the catalog lacks, and passed the same review as the rest; read it before applying.",
        "writing": "The model is writing the Terraform for {title}",
    },
    "ko": {
        "fallback": "모델이 응답하지 못해({step}: {why}) 이 단계는 archops 오프라인 엔진이 처리했습니다.",
        "fallback.part": "모델이 일부를 작성하지 못해({step}: {why}) 그 부분은 빠지고 '만들지 않은 것'에 적었습니다.",
        "budget": "이 대화의 모델 토큰 예산({budget:,})을 모두 사용했습니다",
        "extra.not_clean": "모델이 작성한 Terraform이 {rounds}번의 수정 후에도 archops 검토를 통과하지 못했습니다: {problem}",
        "extra.no_model": "모델이 Terraform을 작성하지 못했습니다({why})",
        "extra.note": "`{file}`({title})은 카탈로그에 없는 부분이라 모델 `{model}`이 작성했고, 나머지와 같은 검토를 통과했습니다. 적용 전에 읽어 보세요.",
        "writing": "모델이 {title}의 Terraform을 작성하고 있습니다",
    },
}


def say(key: str, lang: str | None, **fields: Any) -> str:
    template = MESSAGES.get(lang or "en", MESSAGES["en"]).get(key) or MESSAGES["en"][key]
    return template.format(**fields)
