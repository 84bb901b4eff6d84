"""Per-case few-shot examples: the K most similar labelled cases (TF-IDF cosine)."""

from __future__ import annotations

import logging
from typing import Any

from ..data import Case
from ..task.spec import Example
from .convert import case_text, label_problem, label_to_output
from .jobs import DragonJob
from .library import LibraryEntry

log = logging.getLogger(__name__)


class FewShotSelector:
    """Picks K labelled training/validation cases nearest to each test case. The examples
    go after the fixed instructions, so the instruction prefix stays cacheable."""

    def __init__(self, job: DragonJob, entry: LibraryEntry, k: int) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.k = k
        pool: list[tuple[str, dict[str, Any]]] = []
        refused: list[str] = []
        for case in job.labelled:
            output = label_to_output(case[job.label_name], case, job, entry)
            if output is None:
                continue
            problem = label_problem(output, entry)
            if problem is not None:  # a wrong answer must not become an example
                refused.append(f"uid {case.get('uid')}: {problem}")
                continue
            pool.append((case_text(case, job, entry), output))
        self.refused = refused
        if refused:
            log.warning(
                "%s: %d training label%s do not fit the task's fields and are not used as "
                "few-shot examples (the first, %s)",
                job.task_name,
                len(refused),
                "s" if len(refused) > 1 else "",
                refused[0],
            )
        if not pool and job.labelled:
            log.warning(
                "%s: few-shot examples unavailable: the task has fields that the labels do "
                "not determine",
                job.task_name,
            )
        self.pool = pool
        self._vectorizer = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=1)
        self._matrix = self._vectorizer.fit_transform([t for t, _ in pool]) if pool else None

    def __call__(self, case: Case) -> list[Example]:
        if self._matrix is None or self.k <= 0:
            return []
        query = self._vectorizer.transform([case.text])
        scores = (self._matrix @ query.T).toarray().ravel()
        best = scores.argsort()[::-1][: self.k]
        # most similar last: nearest to the case text in the prompt
        return [Example(input=self.pool[i][0], output=self.pool[i][1]) for i in reversed(best)]
