"""PyTorch reference of the authors' VCP-CLIP inference (method-spec section 2), written against the upstream
code's structure: Pre-VCP Conv1d, unified prompt with deep text prompts, Post-VCP cross-attention, per-layer
LinearLayer, logits upsampled (align_corners=True) before the 2-class softmax, layer means, fusion, Gaussian."""
import numpy as np
import torch
import torch.nn.functional as F
from scipy.ndimage import gaussian_filter
from torch import nn

SOT, EOT, CLS = 49406, 49407, 49408


class ContextPrompting(nn.Module):          # "New_Lan_Embed"
    def __init__(self, r, dim):
        super().__init__()
        self.prompt_query = nn.Parameter(torch.zeros(1, r, dim))
        nn.init.trunc_normal_(self.prompt_query)
        self.prompt_temp = nn.Parameter(torch.tensor(float(np.log(1 / 0.07))))
        self.prompt_linear1 = nn.Module()
        self.prompt_linear1.fc = nn.Conv1d(1, r, kernel_size=3, stride=1, padding="same")

    def forward(self, g):                    # g [B, E] -> [B, r, E]
        return self.prompt_query + self.prompt_linear1.fc(g.unsqueeze(1))


class ZeroParameter(nn.Module):              # "Zero_try": Post-VCP
    def __init__(self, dim_v, dim_t, dim_out, heads=8):
        super().__init__()
        self.heads = heads
        self.q_proj_pre = nn.Conv1d(dim_t, dim_out, 1)
        self.k_proj_pre_1 = nn.Conv1d(dim_v, dim_out, 1)
        self.v_proj_pre_1 = nn.Conv1d(dim_v, dim_out, 1)
        self.proj_post_t = nn.Conv1d(dim_out, dim_out, 1)
        self.prompt_temp_l1 = nn.Parameter(torch.tensor(float(np.log(1 / 0.07))))

    def forward(self, text, patches):        # text [B, 2, Et], patches [B, N, Dv] (normalised)
        b, nt, _ = text.shape
        n = patches.shape[1]
        q = self.q_proj_pre(text.permute(0, 2, 1)).permute(0, 2, 1)
        k = self.k_proj_pre_1(patches.permute(0, 2, 1)).permute(0, 2, 1)
        v = self.v_proj_pre_1(patches.permute(0, 2, 1)).permute(0, 2, 1)
        c = q.shape[-1] // self.heads
        q = q.reshape(b, nt, self.heads, c)
        k = k.reshape(b, n, self.heads, c)
        v = v.reshape(b, n, self.heads, c)
        attn = torch.einsum("bnkc,bmkc->bknm", q, k)          # beta_t = 1: no 1/sqrt(d)
        attn = attn.softmax(dim=-1)
        x = torch.einsum("bknm,bmkc->bnkc", attn, v).reshape(b, nt, -1)
        x = self.proj_post_t(x.permute(0, 2, 1)).permute(0, 2, 1)
        return x / x.norm(dim=-1, keepdim=True)


class LinearLayer(nn.Module):                # "trainable_linearlayer"
    def __init__(self, dim_in, dim_out, k):
        super().__init__()
        self.fc = nn.ModuleList([nn.Linear(dim_in, dim_out) for _ in range(k)])


class VcpHeads(nn.Module):
    def __init__(self, clip, r=2, n=1, features=4):
        super().__init__()
        wt = clip.ln_final.weight.shape[0]
        e = clip.text_projection.shape[1]
        wv = clip.visual.conv1.weight.shape[0]
        layers = len(clip.transformer.resblocks)
        self.r, self.n = r, n
        self.trainable_linearlayer = LinearLayer(wv, e, features)
        self.New_Lan_Embed = ContextPrompting(r, e)
        self.Zero_try = ZeroParameter(wv, e, wv)
        self.prompt_embeddings = nn.Parameter(torch.empty(1, n, wt).uniform_(-1, 1))
        self.deep_prompt_embeddings = nn.Parameter(torch.empty(layers - 1, n, wt).uniform_(-1, 1))
        self.prompt_proj = nn.Linear(wt, wt)
        self.prompt_norm = nn.LayerNorm(wt, eps=1e-6)
        self.prompt_text_projection = nn.Parameter(torch.randn(wt, wt) * wt ** -0.5)
        self.prompt_dropout = nn.Dropout(0.1)

    def checkpoint(self):
        """The authors' torch.save layout (method-spec 2.8)."""
        sd = self.state_dict()
        out = {}
        for group in ("trainable_linearlayer", "New_Lan_Embed", "Zero_try"):
            out[group] = {k[len(group) + 1:]: v for k, v in sd.items() if k.startswith(group + ".")}
        for k in ("prompt_text_projection", "prompt_embeddings", "deep_prompt_embeddings", "prompt_proj.weight",
                  "prompt_proj.bias", "prompt_norm.weight", "prompt_norm.bias"):
            out[k] = sd[k]
        return out

    def encode_text(self, clip, tokens, z):
        """tokens [S, 77] with one <|class|> each; z [B, r, E] -> text features [B, S, E]."""
        feats = []
        for b in range(z.shape[0]):
            per_state = []
            for s in range(tokens.shape[0]):
                tok = tokens[s]
                p = int((tok == CLS).nonzero()[0])
                emb = clip.token_embedding(torch.where(tok == CLS, torch.zeros_like(tok), tok))
                x = torch.cat([emb[:p], z[b], emb[p + 1:77 - self.r + 1]], dim=0)
                x = x + clip.positional_embedding
                prompt = self.prompt_dropout(self.prompt_proj(self.prompt_embeddings[0]))
                x = torch.cat([x[:1], prompt, x[1:77 - self.n]], dim=0).unsqueeze(1)   # [77, 1, W]
                for i, blk in enumerate(clip.transformer.resblocks):
                    if i > 0:
                        deep = self.prompt_dropout(self.prompt_proj(self.deep_prompt_embeddings[i - 1]))
                        x = torch.cat([x[:1], deep.unsqueeze(1), x[1 + self.n:]], dim=0)
                    x = blk(x)
                x = torch.cat([x[:1], x[1 + self.n:]], dim=0).squeeze(1)
                x = clip.ln_final(self.prompt_norm(x))
                eot = int((tok == EOT).nonzero()[0]) + self.r - 1
                e = x[eot] @ clip.text_projection
                e = e / e.norm(dim=-1, keepdim=True)
                e = e.unsqueeze(0).mean(dim=0)
                per_state.append(e / e.norm(dim=-1, keepdim=True))
            feats.append(torch.stack(per_state))
        return torch.stack(feats)

    def maps(self, blocks, text, size):
        raws, news, logits = [], [], []
        for l, tokens in enumerate(blocks):
            patches = tokens[:, 1:, :]
            s = patches / patches.norm(dim=-1, keepdim=True)
            t_new = self.Zero_try(text, s)
            l_new = self.Zero_try.prompt_temp_l1.exp() * s @ t_new.transpose(1, 2)
            pr = self.trainable_linearlayer.fc[l](patches)
            pr = pr / pr.norm(dim=-1, keepdim=True)
            l_raw = self.New_Lan_Embed.prompt_temp.exp() * pr @ text.transpose(1, 2)
            out = []
            for lg in (l_raw, l_new):
                b, n, c = lg.shape
                g = int(round(n ** 0.5))
                m = lg.permute(0, 2, 1).reshape(b, c, g, g)
                m = F.interpolate(m, size=size, mode="bilinear", align_corners=True)
                out.append(torch.softmax(m, dim=1)[:, 1])
            raws.append(out[0])
            news.append(out[1])
            logits.append(torch.stack([l_raw, l_new]))
        return torch.stack(raws).mean(0), torch.stack(news).mean(0), logits


def postprocess(m_raw, m_new, topk=2000, sigma=8):
    """Per image: final map gaussian(0.2 raw + 0.8 new) and score = mean top-k raw + mean top-k new (unsmoothed)."""
    raw, new = m_raw.numpy(), m_new.numpy()
    final = np.stack([gaussian_filter(0.2 * raw[i] + 0.8 * new[i], sigma=sigma) for i in range(raw.shape[0])])
    score = np.array([np.partition(raw[i].ravel(), -topk)[-topk:].mean() + np.partition(new[i].ravel(), -topk)[-topk:].mean()
                      for i in range(raw.shape[0])])
    return final, score
