"""PyTorch reference of the authors' ViP2-CLIP (github kim0806/ViP2-CLIP, method-spec section 3), written against the
upstream structure and parameter names: ICA (state-specific context tokens, Meta-Net "cls_prompter", the 8 buffers
built with the upstream bug: the normal prompt's buffers come from the ABNORMAL token ids), FGP (= VCP's Post-VCP
cross-attention at the joint width, shared by all layers), UTPA (softmax at tau 0.07, probabilities upsampled with
bilinear align_corners=False, top-k patches of P(anomalous) with their raw cosines for the image score), the
loss of train.py and the post-processing of test.py. Sizes (e, r, widths) are parameters so a tiny CLIP works."""
import torch
import torch.nn.functional as F
from scipy.ndimage import gaussian_filter
from torch import nn

from vcp_reference import ZeroParameter  # noqa: F401  (FGP is the same code as VCP's Post-VCP)

SOT, EOT, X, DAMAGED = 49406, 49407, 343, 13568
TEMPERATURE = 0.07


class Linearlayer(nn.Module):
    """The Meta-Net: one Linear -> ReLU -> Linear per generic token, applied to (g + bias); outputs cat on dim 1."""

    def __init__(self, dim_in, dim_out, k, hidden_dim):
        super().__init__()
        self.bias = nn.Parameter(torch.empty(1, dim_in).normal_(std=0.02))
        self.fc = nn.ModuleList([nn.Sequential(nn.Linear(dim_in, hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, dim_out))
                                 for _ in range(k)])

    def forward(self, tokens):                  # [N, 1, D] -> [N, k, D]
        tokens = tokens + self.bias
        return torch.cat([fc(tokens) for fc in self.fc], dim=1)


def vip2_tokens(n_ctx, n_cls, state):
    """tokenize('X'*e + ' ' + state + ' ' + 'X'*r) (method-spec 1.2), int32 as torch >= 1.8 returns it."""
    ids = [SOT] + [X] * n_ctx + [state] + [X] * n_cls + [EOT]
    t = torch.zeros(1, 77, dtype=torch.int32)
    t[0, :len(ids)] = torch.tensor(ids, dtype=torch.int32)
    return t


class ICA(nn.Module):
    def __init__(self, clip, n_ctx, n_cls):
        super().__init__()
        ctx_dim = clip.ln_final.weight.shape[0]
        embed = clip.text_projection.shape[1]
        self.n_ctx, self.n_cls = n_ctx, n_cls
        self.cls_ctx = nn.Parameter(torch.empty(n_cls, ctx_dim).normal_(std=0.02))
        self.ctx_pos = nn.Parameter(torch.empty(n_ctx, ctx_dim).normal_(std=0.02))
        self.ctx_neg = nn.Parameter(torch.empty(n_ctx, ctx_dim).normal_(std=0.02))
        self.cls_prompter = Linearlayer(embed, ctx_dim, n_cls, embed // 2)
        # Upstream builds the normal prompt "good" (886) but embeds the ABNORMAL ids for both (method-spec 3.4).
        pos_tokens = vip2_tokens(n_ctx, n_cls, 886)
        neg_tokens = vip2_tokens(n_ctx, n_cls, DAMAGED)
        with torch.no_grad():
            pos_emb = clip.token_embedding(neg_tokens.long())
            neg_emb = clip.token_embedding(neg_tokens.long())
        mid = 1 + n_ctx
        self.register_buffer("token_prefix_pos", pos_emb[:, :1, :])
        self.register_buffer("token_middle_pos", pos_emb[:, mid:mid + 1, :])
        self.register_buffer("token_suffix_pos", pos_emb[:, mid + 1 + n_cls:, :])
        self.register_buffer("token_prefix_neg", neg_emb[:, :1, :])
        self.register_buffer("token_middle_neg", neg_emb[:, mid:mid + 1, :])
        self.register_buffer("token_suffix_neg", neg_emb[:, mid + 1 + n_cls:, :])
        self.register_buffer("tokenized_prompts_pos", pos_tokens)
        self.register_buffer("tokenized_prompts_neg", neg_tokens)

    def forward(self, img_features):            # [N, D] normalised -> prompts [2N, 77, W], tokens [2N, 77]
        n, d = img_features.shape
        ctx_cls = self.cls_ctx.unsqueeze(0) + self.cls_prompter(img_features.reshape(n, 1, d))
        pos = torch.cat([self.token_prefix_pos.expand(n, -1, -1), self.ctx_pos.unsqueeze(0).expand(n, -1, -1),
                         self.token_middle_pos.expand(n, -1, -1), ctx_cls, self.token_suffix_pos.expand(n, -1, -1)], dim=1)
        neg = torch.cat([self.token_prefix_neg.expand(n, -1, -1), self.ctx_neg.unsqueeze(0).expand(n, -1, -1),
                         self.token_middle_neg.expand(n, -1, -1), ctx_cls, self.token_suffix_neg.expand(n, -1, -1)], dim=1)
        tokens = torch.cat([self.tokenized_prompts_pos.expand(n, -1), self.tokenized_prompts_neg.expand(n, -1)], dim=0)
        return torch.cat([pos, neg], dim=0), tokens


def encode_image(clip, x, layers, size):
    """VIP2CLIP encode_image: global = cls_final @ proj WITHOUT ln_post; patch features ln_post(block) @ proj."""
    from clip_reference import resize_pos
    pos = resize_pos(clip.visual.positional_embedding, size // clip.visual.conv1.kernel_size[0], "bilinear")
    _, final, blocks = clip.visual(x, layers, pos)
    g = final[:, 0, :] @ clip.visual.proj
    feats = [clip.visual.ln_post(b) @ clip.visual.proj for b in blocks]
    return g, feats


def get_similarity_map(sm, size):
    side = int(sm.shape[1] ** 0.5)
    sm = sm.reshape(sm.shape[0], side, side, -1).permute(0, 3, 1, 2)
    sm = F.interpolate(sm, size, mode="bilinear")          # align_corners=False (default)
    return sm.permute(0, 2, 3, 1)


def forward(clip, ica, fgp, x, layers, size, topk=50):
    """train.py / test.py forward. Returns text [N, 2, E], per-layer maps [N, 2, S, S] (channel 0 normal),
    per-layer cosines [N, L, 2], image logits m / 0.07 [N, 2]."""
    g, feats = encode_image(clip, x, layers, size)
    g = g / g.norm(dim=-1, keepdim=True)
    prompts, tokens = ica(g)
    # encode_text_learn: prompts + positional embedding, causal blocks, ln_final, EOT (= argmax of the ids) @ projection
    text = clip.encode_text_embeddings(prompts + clip.positional_embedding, tokens.argmax(dim=-1)).float()
    text = torch.stack(torch.chunk(text, dim=0, chunks=2), dim=1)
    text = text / text.norm(dim=-1, keepdim=True)
    maps, cosines, top = [], [], []
    for pf in feats:
        pf = pf / pf.norm(dim=-1, keepdim=True)
        aux = fgp(text, pf[:, 1:, :])
        sim = torch.matmul(pf[:, 1:, :], aux.transpose(1, 2))
        scores = sim
        prob = (sim / TEMPERATURE).softmax(dim=-1)
        maps.append(get_similarity_map(prob, size).permute(0, 3, 1, 2))
        k = min(topk, prob.shape[1])
        _, idx = torch.topk(prob[:, :, 1], k=k, dim=-1, largest=True, sorted=False)
        bi = torch.arange(scores.size(0)).unsqueeze(1).expand(-1, k)
        top.append(scores[bi, idx])
        cosines.append(sim)
    mean_score = torch.mean(torch.cat(top, dim=1), dim=1)
    return g, text, maps, cosines, mean_score / TEMPERATURE


def postprocess(maps, logits, sigma=8):
    """test.py: per layer (P1 + 1 - P0) / 2, mean over layers, gaussian per image; score softmax(m / 0.07)[1]."""
    per_layer = [(m[:, 1] + 1 - m[:, 0]) / 2.0 for m in maps]
    amap = torch.stack(per_layer, dim=0).mean(dim=0).detach().numpy()
    # upstream passes axes=(0, 1): every axis of a 2-D map (this scipy predates the argument)
    final = [gaussian_filter(a, sigma=sigma) for a in amap]
    return final, logits.softmax(dim=-1)[:, 1]


def focal_loss(prob, target, gamma=2, smooth=1e-5):
    """loss.py FocalLoss (alpha None, gamma 2, smooth 1e-5), same as VCP-CLIP's."""
    c = prob.shape[1]
    rows = prob.view(prob.size(0), c, -1).permute(0, 2, 1).contiguous().view(-1, c)
    idx = target.reshape(-1, 1).long()
    onehot = torch.zeros(idx.shape[0], c).scatter_(1, idx, 1)
    onehot = torch.clamp(onehot, smooth / (c - 1), 1.0 - smooth)
    pt = (onehot * rows).sum(1) + smooth
    return (-1 * torch.pow(1 - pt, gamma) * pt.log()).mean()


def dice_loss(p, target):
    n = target.shape[0]
    pf, tf = p.reshape(n, -1), target.reshape(n, -1)
    dice = (2 * (pf * tf).sum(1) + 1) / (pf.sum(1) + tf.sum(1) + 1)
    return 1 - dice.sum() / n


def loss(maps, logits, gt, label):
    """train.py: sum_l focal + dice(P1, gt) + dice(P0, 1 - gt), plus cross-entropy of m / 0.07."""
    seg = 0
    for m in maps:
        seg = seg + focal_loss(m, gt)
        seg = seg + dice_loss(m[:, 1, :, :], gt)
        seg = seg + dice_loss(m[:, 0, :, :], 1 - gt)
    image = F.cross_entropy(logits, label.long())
    return seg + image, seg, image
