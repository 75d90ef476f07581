"""Relation classification from the entity-start markers (Baldini Soares et al. 2019, "EM" / entity start).

A plain sequence classifier reads the relation off [CLS]; with entity markers in the input,
classifying from the hidden states of the `<e1>` and `<e2>` start markers is the stronger
recipe (SemEval-2010 Task 8: +5 macro-F1 points on MiniLM-L6 here, see README). The model
finds the marker positions itself from `input_ids` (their token ids live in the config), so
every caller keeps passing the same batches as to a Hugging Face sequence classifier
(`model(**batch).logits`, `output_attentions=True`, head masks on `bert.encoder.layer`).

Only BERT-family encoders (model_type "bert", which covers MiniLM and bert-base fine-tunes)
are supported; the checkpoint's headscope.json says `"pooling": "entity-start"` and loading
goes through `BertForEntityStartClassification.from_pretrained`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn
from transformers import BertModel, BertPreTrainedModel
from transformers.modeling_outputs import SequenceClassifierOutput

POOLINGS = ("cls", "entity-start")


def entity_start_positions(input_ids: torch.Tensor, marker_ids: Sequence[int]) -> torch.Tensor:
    """[batch, markers]: the first position of each marker token per row; 0 ([CLS]) when a marker is absent.

    A marker can be missing only when truncation cut it off; falling back to [CLS] keeps the
    prediction defined instead of indexing garbage.
    """
    markers = torch.as_tensor(list(marker_ids), device=input_ids.device)
    hits = input_ids.unsqueeze(-1) == markers  # [batch, seq, markers]
    found = hits.any(dim=1)  # [batch, markers]
    first = hits.int().argmax(dim=1)  # argmax returns the first maximal index
    return torch.where(found, first, torch.zeros_like(first))


class BertForEntityStartClassification(BertPreTrainedModel):
    """BERT encoder; logits from dropout + linear over [h(<e1>); h(<e2>)]."""

    def __init__(self, config: Any) -> None:
        super().__init__(config)
        if not getattr(config, "entity_start_token_ids", None):
            raise ValueError("entity-start pooling needs config.entity_start_token_ids (the <e1> and <e2> token ids)")
        self.num_labels = config.num_labels
        self.bert = BertModel(config, add_pooling_layer=False)
        dropout = config.classifier_dropout if config.classifier_dropout is not None else config.hidden_dropout_prob
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(len(config.entity_start_token_ids) * config.hidden_size, config.num_labels)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        **kwargs: Any,
    ) -> SequenceClassifierOutput:
        outputs = self.bert(
            input_ids=input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
            return_dict=True,
            **kwargs,
        )
        hidden = outputs.last_hidden_state  # [batch, seq, hidden]
        starts = entity_start_positions(input_ids, self.config.entity_start_token_ids)  # [batch, markers]
        pooled = torch.gather(hidden, 1, starts.unsqueeze(-1).expand(-1, -1, hidden.size(-1)))
        logits = self.classifier(self.dropout(pooled.flatten(1)))
        loss = nn.functional.cross_entropy(logits.float(), labels) if labels is not None else None
        return SequenceClassifierOutput(
            loss=loss, logits=logits, hidden_states=outputs.hidden_states, attentions=outputs.attentions
        )
